module github.com/mensatek-go/mensatek/cmd/mensatek

go 1.23.0

require (
	github.com/mensatek-go/mensatek v0.0.0-00010101000000-000000000000
	github.com/schollz/progressbar/v3 v3.18.0
	github.com/stretchr/testify v1.12.1
	golang.org/x/term v0.34.0
)

require (
	github.com/go-resty/resty/v2 v2.17.2 // indirect
	github.com/mitchellh/colorstring v0.0.0-20190213212951-d06e56a500db // indirect
	github.com/rivo/uniseg v0.4.7 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/net v0.43.0 // indirect
	golang.org/x/sys v0.35.0 // indirect
	golang.org/x/time v0.12.0 // indirect
)
