module github.com/mensatek-go/mensatek/cmd/mensatek

go 1.23.0

require (
	github.com/jackc/pgx/v5 v5.7.6
	github.com/mensatek-go/mensatek v0.0.0-00010101000000-000000000000
	github.com/nyaruka/phonenumbers v1.8.1
	github.com/redis/go-redis/v9 v9.18.0
	github.com/schollz/progressbar/v3 v3.18.0
	github.com/stretchr/testify v1.12.1
	github.com/xuri/excelize/v2 v2.9.1
	golang.org/x/term v0.34.0
	golang.org/x/text v0.28.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/dgryski/go-rendezvous v0.0.0-20200823014737-9f7001d12a5f // indirect
	github.com/go-redis/redis_rate/v10 v10.0.1 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.2 // indirect
	go.uber.org/atomic v1.11.0 // indirect
	google.golang.org/protobuf v1.36.11 // indirect
)

require (
	github.com/go-resty/resty/v2 v2.17.2 // indirect
	github.com/mensatek-go/mensatek/pgstore v0.0.0-00010101000000-000000000000
	github.com/mensatek-go/mensatek/redisstore v0.0.0-00010101000000-000000000000
	github.com/mitchellh/colorstring v0.0.0-20190213212951-d06e56a500db // indirect
	github.com/richardlehane/mscfb v1.0.4 // indirect
	github.com/richardlehane/msoleps v1.0.4 // indirect
	github.com/rivo/uniseg v0.4.7 // indirect
	github.com/tiendc/go-deepcopy v1.6.0 // indirect
	github.com/xuri/efp v0.0.1 // indirect
	github.com/xuri/nfp v0.0.1 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/crypto v0.41.0 // indirect
	golang.org/x/net v0.43.0 // indirect
	golang.org/x/sync v0.16.0 // indirect
	golang.org/x/sys v0.35.0 // indirect
	golang.org/x/time v0.12.0 // indirect
)
