module github.com/mensatek-go/mensatek/redisstore

go 1.23.0

require (
	github.com/go-redis/redis_rate/v10 v10.0.1
	github.com/mensatek-go/mensatek v0.0.0-00010101000000-000000000000
	github.com/redis/go-redis/v9 v9.18.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/dgryski/go-rendezvous v0.0.0-20200823014737-9f7001d12a5f // indirect
	github.com/go-resty/resty/v2 v2.17.2 // indirect
	go.uber.org/atomic v1.11.0 // indirect
	golang.org/x/net v0.43.0 // indirect
	golang.org/x/sync v0.16.0 // indirect
	golang.org/x/time v0.12.0 // indirect
)
