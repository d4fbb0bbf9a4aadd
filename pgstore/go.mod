module github.com/mensatek-go/mensatek/pgstore

go 1.23.0

require (
	github.com/jackc/pgx/v5 v5.7.6
	github.com/mensatek-go/mensatek v0.0.0-00010101000000-000000000000
)

require (
	github.com/go-resty/resty/v2 v2.17.2 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.2 // indirect
	golang.org/x/crypto v0.41.0 // indirect
	golang.org/x/net v0.43.0 // indirect
	golang.org/x/sync v0.16.0 // indirect
	golang.org/x/text v0.28.0 // indirect
	golang.org/x/time v0.12.0 // indirect
)
