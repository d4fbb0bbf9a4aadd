// Package mensatektest is an in-process fake of the Mensatek WhatsApp Business API (v7), for
// testing code that uses package mensatek without the network, credentials or credits.
//
// [Start] starts the fake on a loopback port for one test and closes it when the test ends
// ([NewServer] does the same for code that closes it itself); [Server.Client] returns a
// *mensatek.Client wired to it. The fake speaks the API the way the reference describes it and
// behaves like the service rather than like a stub: it checks Basic auth, refuses missing or
// malformed parameters with Res -3 and an Error text, gives every send a new increasing
// idMensaje, counts Enviados and NoEnviados per recipient (NoEnviados: a phone that is not a
// valid number in international digits, by the client's own rule, [mensatek.NormalizePhone]),
// spends credits (Res -2 when they run out), knows the reference's example templates and refuses a template send that the service
// would refuse. It records what was sent ([Server.Sent]), with accessors that read a send the
// way the API does ([SentMessage.Template], [SentMessage.Text], [SentMessage.Var], ...), and
// can inject faults into the next call of an operation ([Server.FailNext],
// [Server.FailNextHTTP], [Server.DelayNext], [Server.DropNext]).
//
// A typical test:
//
//	func TestWelcomeCampaign(t *testing.T) {
//		srv := mensatektest.Start(t) // closed when the test ends
//		client := srv.Client()       // pass mensatek options if you like
//
//		// The code under test, which takes a *mensatek.Client.
//		if err := SendWelcome(context.Background(), client, "34600000001", "Ana"); err != nil {
//			t.Fatal(err)
//		}
//
//		sent := srv.Sent()
//		if len(sent) != 1 {
//			t.Fatalf("%d sends, want 1", len(sent))
//		}
//		if got := sent[0].Template(); got != "customer_welcome" {
//			t.Errorf("template %q, want customer_welcome", got)
//		}
//		if got := sent[0].VarFor("34600000001", "Nombre"); got != "Ana" {
//			t.Errorf("Nombre %q, want Ana", got)
//		}
//
//		// Error handling: the next send is refused for lack of credits.
//		srv.FailNext(mensatek.OpSend, mensatek.CodeInsufficientCredits, "not enough credits")
//		err := SendWelcome(context.Background(), client, "34600000002", "Luis")
//		if !errors.Is(err, mensatek.ErrInsufficientCredits) {
//			t.Fatalf("got %v", err)
//		}
//	}
//
// To test a webhook handler, build the report Mensatek would POST with a builder for each kind
// of message a customer can send ([InboundText], [InboundImage], [InboundButtonReply],
// [InboundFlowReply], ... and [StatusChange]) and deliver it with [DeliverWebhook].
//
// Tests that stub the API's HTTP calls themselves (with httpmock or any transport mock) answer
// them with the fake's own reply bodies: [SendReply], [ResultReply], [TemplatesReply],
// [TemplateVariablesReply] and [ErrorReply]. A checked send (mensatek.Client.SendChecked) calls
// GetPlantillasWhatsapp and GetVariablesPlantillaWhatsapp before EnviarWHATSAPP, so stub all
// three:
//
//	mt := httpmock.NewMockTransport()
//	welcome := mensatektest.ReferenceTemplates()[0] // or a mensatek.TemplateDetails of your own
//	mt.RegisterResponder("POST", mensatek.DefaultBaseURL+"GetPlantillasWhatsapp",
//		httpmock.NewStringResponder(200, mensatektest.TemplatesReply(welcome)))
//	mt.RegisterResponder("POST", mensatek.DefaultBaseURL+"GetVariablesPlantillaWhatsapp",
//		httpmock.NewStringResponder(200, mensatektest.TemplateVariablesReply(welcome)))
//	mt.RegisterResponder("POST", mensatek.DefaultBaseURL+"EnviarWHATSAPP",
//		httpmock.NewStringResponder(200, mensatektest.SendReply(mensatek.SendResult{MessageID: 7, Sent: 1})))
//	client, err := mensatek.NewClient("user", "token", mensatek.WithHTTPClient(&http.Client{Transport: mt}))
//
// A media download answers the file itself (its bytes, with its Content-Type), or an ErrorReply.
//
// Faults are queued per operation: each call of the operation takes the oldest one, so calling
// FailNext twice fails the next two calls, and faults of other operations wait for their own
// calls. [Server.Calls] counts every request of an operation that reached the fake, including
// refused, failed and dropped ones: use it to check that your code made no request at all.
//
// What the fake assumes where the reference is silent: the typing, media-download and
// account-status functions answer under the names the client calls by default (listed at [mensatek.OpSend]) (also
// in any letter case); only Resp=JSON (or no Resp) is answered, TXT and XML get a Res -3 error;
// Plantillas and Variables are answered as strings holding JSON escaped once more than needed,
// exactly as in the reference's examples; a parameter given twice (in the same or another case)
// is refused, since the fake cannot know which one the service would take.
//
// The fake reads requests with encoding/json, net/url and mime/multipart, not with the SDK's
// own decoding code, so that a decoding bug in the SDK shows up instead of being shared.
//
// A Server is safe for concurrent use, and the package has no global state: several servers in
// one test are independent.
package mensatektest
