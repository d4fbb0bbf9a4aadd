// Package testserver gives the store modules' tests a real Redis or PostgreSQL: the one named by
// an environment variable, or else a throwaway server it starts on a free loopback port in a
// temporary directory and stops at the end. Without the server's binaries a test skips, saying
// how to install them; with CI=true it fails instead, so CI never passes a store untested.
package testserver

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Environment variables that name a server to use instead of starting one.
const (
	RedisURLEnv         = "MENSATEK_TEST_REDIS_URL"          // such as redis://127.0.0.1:6379/0
	RedisClusterAddrEnv = "MENSATEK_TEST_REDIS_CLUSTER_ADDR" // a node of a Redis Cluster, such as 127.0.0.1:7000
	PostgresURLEnv      = "MENSATEK_TEST_POSTGRES_URL"       // such as postgres://user:pw@127.0.0.1:5432/db
)

// errMissing marks a server whose binaries are not installed.
var errMissing = errors.New("not installed")

type server struct {
	once sync.Once
	url  string
	err  error
	stop func()
}

var (
	mu      sync.Mutex
	started []*server
	redis   = &server{}
	cluster = &server{}
	pg      = &server{}
)

// RedisURL returns the URL of a Redis server for the test, starting one the first time.
func RedisURL(t testing.TB) string {
	t.Helper()
	return redis.get(t, RedisURLEnv, startRedis,
		"redis-server not found; install it (apt-get install redis-server) or set "+RedisURLEnv)
}

// RedisClusterAddr returns the address of a node of a Redis Cluster for the test, starting the
// first time a one-node cluster that serves every slot (redis-server 7.0 or newer). Redis
// refuses a command across slots there as on any cluster, which is what the stores' tests need
// to see.
func RedisClusterAddr(t testing.TB) string {
	t.Helper()
	return cluster.get(t, RedisClusterAddrEnv, startRedisCluster,
		"redis-server not found; install it (apt-get install redis-server) or set "+RedisClusterAddrEnv)
}

// PostgresURL returns the URL of a PostgreSQL database for the test, starting a server the
// first time.
func PostgresURL(t testing.TB) string {
	t.Helper()
	return pg.get(t, PostgresURLEnv, startPostgres,
		"initdb/pg_ctl not found; install PostgreSQL (apt-get install postgresql) or set "+PostgresURLEnv)
}

// StopAll stops the servers this process started; call it from TestMain after m.Run.
func StopAll() {
	mu.Lock()
	defer mu.Unlock()
	for _, s := range started {
		if s.stop != nil {
			s.stop()
		}
	}
	started = nil
}

func (s *server) get(t testing.TB, env string, start func() (string, func(), error), howto string) string {
	t.Helper()
	if u := os.Getenv(env); u != "" {
		return u
	}
	s.once.Do(func() {
		s.url, s.stop, s.err = start()
		mu.Lock()
		started = append(started, s)
		mu.Unlock()
	})
	if errors.Is(s.err, errMissing) {
		if os.Getenv("CI") == "true" {
			t.Fatal(howto + " (CI=true: store tests must not be skipped)")
		}
		t.Skip(howto)
	}
	if s.err != nil {
		t.Fatal(s.err)
	}
	return s.url
}

// freePort returns a loopback port nobody listens on at the moment.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Redis is a redis-server of one test's own ([StartRedis]), which the test may pause.
type Redis struct {
	// Addr is the server's address, host:port on the loopback interface.
	Addr string
	proc *os.Process
}

// StartRedis starts a redis-server for t alone on a free loopback port and stops it at the end
// of the test. Unlike [RedisURL] it never uses the server MENSATEK_TEST_REDIS_URL names: a test
// that pauses its server must own it. Without redis-server the test skips (fails with CI=true).
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	addr, proc, stop, err := startRedisProcess()
	if errors.Is(err, errMissing) {
		howto := "redis-server not found; install it (apt-get install redis-server)"
		if os.Getenv("CI") == "true" {
			t.Fatal(howto + " (CI=true: store tests must not be skipped)")
		}
		t.Skip(howto)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return &Redis{Addr: addr, proc: proc}
}

// Pause stops the server's process (SIGSTOP): it keeps its port and accepts connections, as
// the kernel does for it, but answers nothing until [Redis.Resume], like a server that hangs.
// It fails where there are no such signals; the test should skip then.
func (r *Redis) Pause() error { return stopProcess(r.proc) }

// Resume lets a paused server go on (SIGCONT); it answers what it was sent meanwhile.
func (r *Redis) Resume() error { return continueProcess(r.proc) }

func startRedis() (string, func(), error) {
	addr, stop, err := startRedisServer()
	if err != nil {
		return "", nil, err
	}
	return "redis://" + addr + "/0", stop, nil
}

func startRedisCluster() (string, func(), error) {
	addr, stop, err := startRedisServer("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
	if err != nil {
		return "", nil, err
	}
	if line, err := redisCommand(addr, "CLUSTER ADDSLOTSRANGE 0 16383"); err != nil || !strings.HasPrefix(line, "+OK") {
		stop()
		return "", nil, fmt.Errorf("redis cluster on %s: CLUSTER ADDSLOTSRANGE: %q %v", addr, line, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		// The reply is a bulk string: its length line, then the first line of the info.
		if info, err := redisCommand(addr, "CLUSTER INFO", 2); err == nil && strings.Contains(info, "cluster_state:ok") {
			return addr, stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("redis cluster on %s: not ok within 20 s", addr)
		}
		time.Sleep(20 * time.Millisecond) // waiting for the node to take its slots
	}
}

// startRedisServer starts a redis-server with extra arguments and returns its address.
func startRedisServer(extra ...string) (string, func(), error) {
	addr, _, stop, err := startRedisProcess(extra...)
	return addr, stop, err
}

// startRedisProcess is startRedisServer that also returns the server's process.
func startRedisProcess(extra ...string) (string, *os.Process, func(), error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", nil, nil, errMissing
	}
	dir, err := os.MkdirTemp("", "mensatek-redis-")
	if err != nil {
		return "", nil, nil, err
	}
	port, err := freePort()
	if err != nil {
		return "", nil, nil, err
	}
	args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", dir, "--logfile", dir + "/redis.log"}, extra...)
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return "", nil, nil, fmt.Errorf("starting redis-server: %w", err)
	}
	stop := func() {
		_ = continueProcess(cmd.Process) // a paused server: let it see the kill at once
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		os.RemoveAll(dir)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(20 * time.Second)
	for !redisPing(addr) {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(dir + "/redis.log")
			stop()
			return "", nil, nil, fmt.Errorf("redis-server on %s did not answer PING within 20 s: %s", addr, log)
		}
		time.Sleep(20 * time.Millisecond) // waiting for the server to listen
	}
	return addr, cmd.Process, stop, nil
}

func redisPing(addr string) bool {
	line, err := redisCommand(addr, "PING")
	return err == nil && strings.HasPrefix(line, "+PONG")
}

// redisCommand sends one inline command and returns the first lines of the reply (one unless
// told), joined.
func redisCommand(addr, command string, lines ...int) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte(command + "\r\n")); err != nil {
		return "", err
	}
	n := 1
	if len(lines) > 0 {
		n = lines[0]
	}
	r := bufio.NewReader(c)
	var out strings.Builder
	for i := 0; i < n; i++ {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		out.WriteString(line)
	}
	return out.String(), nil
}

// pgBinary finds a PostgreSQL program on PATH or in Debian's versioned directories.
func pgBinary(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, v := range []string{"17", "16", "15", "14", "13"} {
		p := "/usr/lib/postgresql/" + v + "/bin/" + name
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errMissing
}

func startPostgres() (string, func(), error) {
	initdb, err := pgBinary("initdb")
	if err != nil {
		return "", nil, err
	}
	pgctl, err := pgBinary("pg_ctl")
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "mensatek-pg-")
	if err != nil {
		return "", nil, err
	}
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	data := dir + "/data"
	run := func(name string, args ...string) error {
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		if err := asUnprivileged(cmd, dir); err != nil {
			return err
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := run(initdb, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	opts := fmt.Sprintf("-p %d -h 127.0.0.1 -k %s -F -c max_connections=200", port, dir)
	if err := run(pgctl, "-D", data, "-l", dir+"/pg.log", "-o", opts, "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(dir + "/pg.log")
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("%v\n%s", err, log)
	}
	stop := func() {
		_ = run(pgctl, "-D", data, "-m", "immediate", "-w", "stop")
		os.RemoveAll(dir)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port), stop, nil
}
