// Package mensatektest is an in-process fake of the Mensatek WhatsApp Business API (v7), for
// testing code that uses package mensatek without the network, credentials or credits.
//
// [NewServer] starts the fake on a loopback port; [Server.Client] returns a *mensatek.Client
// wired to it. The fake speaks the API the way the reference describes it and behaves like the
// service rather than like a stub: it checks Basic auth, refuses missing or malformed parameters
// with Res -3 and an Error text, gives every send a new increasing idMensaje, counts Enviados and
// NoEnviados per recipient, spends credits (Res -2 when they run out), knows the reference's
// example templates and refuses a template send that the service would refuse. It records what
// was sent ([Server.Sent]) and can inject faults into the next call of an operation
// ([Server.FailNext], [Server.FailNextHTTP], [Server.DelayNext], [Server.DropNext]).
//
// A typical test:
//
//	func TestWelcomeCampaign(t *testing.T) {
//		srv := mensatektest.NewServer()
//		defer srv.Close()
//		client := srv.Client() // pass mensatek options if you like
//
//		// The code under test, which takes a *mensatek.Client.
//		if err := SendWelcome(context.Background(), client, "34600000001", "Ana"); err != nil {
//			t.Fatal(err)
//		}
//
//		sent := srv.Sent()
//		if len(sent) != 1 || sent[0].Type != mensatek.TypeTemplate ||
//			sent[0].Data["Plantilla"] != "customer_welcome" || sent[0].To[0].Phone != "34600000001" {
//			t.Fatalf("sent %+v", sent)
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
// Faults are queued per operation: each call of the operation takes the oldest one, so calling
// FailNext twice fails the next two calls, and faults of other operations wait for their own
// calls. [Server.Calls] counts every request of an operation that reached the fake, including
// refused, failed and dropped ones: use it to check that your code made no request at all.
//
// What the fake assumes where the reference is silent: the typing, media-download and
// account-status functions answer under the names [mensatek.DefaultEndpoint] gives them (also
// in any letter case); only Resp=JSON (or no Resp) is answered, TXT and XML get a Res -3 error;
// Plantillas and Variables are answered as strings holding JSON escaped once more than needed,
// exactly as in the reference's examples.
//
// A Server is safe for concurrent use, and the package has no global state: several servers in
// one test are independent.
package mensatektest
