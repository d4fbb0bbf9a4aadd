// Package api names what the client and the fake (mensatektest) must agree on and no consumer
// needs: the API functions each operation calls by default, and the message types' wire names.
// It holds names only, no decoding code, so the fake still reads requests with its own.
package api

// Endpoint is one of the SDK's operations (mensatek.Operation's value) and the API function it
// calls unless the client is told otherwise.
type Endpoint struct {
	Op, Function string
}

// Endpoints lists every operation with its default API function, in a fixed order. The
// reference does not name the functions for typing, media download and account status: their
// names here are the likeliest, unverified. The core and the fake (mensatektest) both read it,
// so they cannot disagree.
func Endpoints() []Endpoint {
	return []Endpoint{
		{"send", "EnviarWHATSAPP"},
		{"typing", "EscribiendoWhatsapp"},
		{"media_download", "DescargarMultimediaWhatsapp"},
		{"account_status", "CambiarEstadoWhatsapp"},
		{"templates", "GetPlantillasWhatsapp"},
		{"template_variables", "GetVariablesPlantillaWhatsapp"},
	}
}

// DefaultFunction returns the API function op calls by default, and false for an unknown op.
func DefaultFunction(op string) (string, bool) {
	for _, e := range Endpoints() {
		if e.Op == op {
			return e.Function, true
		}
	}
	return "", false
}

// MessageTypes lists the wire names of the ten message types (Tipomensaje), in the reference's
// order.
func MessageTypes() []string {
	return []string{"PLANTILLA", "TEXTO", "IMAGEN", "DOCUMENTO", "UBICACION", "SOLICITARUBICACION",
		"LISTA", "BOTONESRESPUESTA", "REACCION", "BOTONESCTA"}
}
