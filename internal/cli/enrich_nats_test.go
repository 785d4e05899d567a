package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// childEnv switches the test binary into an `omen enrich --nats` process (TestEnrichNATSChild).
const childEnv = "OMEN_TEST_ENRICH_CHILD_ARGS"

// TestEnrichNATSChild is not a test: the parent test runs the test binary with childEnv set, and
// this runs omen with those arguments until it is killed or interrupted.
func TestEnrichNATSChild(t *testing.T) {
	args := os.Getenv(childEnv)
	if args == "" {
		t.Skip("helper process for TestEnrichNATSKilledConsumer")
	}
	os.Exit(Main(strings.Split(args, "\x1f"), os.Stdin, os.Stdout, os.Stderr))
}

// Two omen processes share a JetStream durable consumer; one is killed midway. Every event comes
// out enriched exactly once.
func TestEnrichNATSKilledConsumer(t *testing.T) {
	url := os.Getenv("OMEN_TEST_NATS_URL")
	if url == "" {
		t.Skip("OMEN_TEST_NATS_URL not set: skipping the NATS test (.ci/run sets it)")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	// Known indicators: values of the genuine Zeek events below.
	list := filepath.Join(dir, "c2.txt")
	os.WriteFile(list, []byte("17.253.5.203\n192.168.50.1\n"), 0o644)
	if code := Run(ctx, []string{"--data", dir, "import", "--source", "vendor", "--reliability", "A", "--confidence", "90",
		"--threat-type", "c2", list}, nil, io.Discard, io.Discard); code != 0 {
		t.Fatalf("import exit %d", code)
	}
	lines := bytes.Split(bytes.TrimSpace(must(os.ReadFile("../enrich/testdata/ecs-zeek.ndjson"))), []byte("\n"))

	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("%d", time.Now().UnixNano())
	in, out := "OMEN_T_IN_"+id, "OMEN_T_OUT_"+id
	from, to := "omen.t."+id+".events", "omen.t."+id+".enriched"
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: in, Subjects: []string{from}}); err != nil {
		t.Fatal(err)
	}
	defer js.DeleteStream(context.Background(), in)
	defer js.DeleteStream(context.Background(), out)
	const n = 400
	for i := range n {
		if _, err := js.Publish(ctx, from, lines[i%len(lines)]); err != nil {
			t.Fatal(err)
		}
	}

	args := []string{"--data", dir, "--log-level", "warn", "enrich", "--nats", url, "--from", from, "--to", to, "--stream", in,
		"--out-stream", out, "--durable", "omen-t-" + id, "--workers", "2", "--ack-wait", "2s"}
	start := func() *exec.Cmd {
		c := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestEnrichNATSChild$")
		c.Env = append(os.Environ(), childEnv+"="+strings.Join(args, "\x1f"))
		var stderr bytes.Buffer
		c.Stderr = &stderr
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("consumer stderr:\n%s", stderr.String())
			}
		})
		return c
	}
	count := func() uint64 {
		s, err := js.Stream(ctx, out)
		if err != nil {
			return 0
		}
		info, err := s.Info(ctx)
		if err != nil {
			return 0
		}
		return info.State.Msgs
	}
	wait := func(what string, ok func() bool) {
		for !ok() {
			if ctx.Err() != nil {
				t.Fatalf("timed out waiting for %s (output has %d)", what, count())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	victim := start()
	wait("the first consumer's output", func() bool { return count() >= 20 })
	survivor := start()
	if err := victim.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	victim.Wait()
	wait("every event", func() bool { return count() >= n })
	time.Sleep(3 * time.Second) // longer than AckWait: a redelivered duplicate would be published by now
	survivor.Process.Signal(syscall.SIGTERM)
	if err := survivor.Wait(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 0 {
			t.Errorf("the surviving consumer: %v", err)
		}
	}

	// Read the output stream: one message per input sequence, each enriched when it matched.
	cons, err := js.OrderedConsumer(ctx, out, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	enriched := 0
	for len(seen) < n {
		batch, err := cons.Fetch(100, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			seen[m.Headers().Get("Nats-Msg-Id")]++
			var ev map[string]any
			if err := json.Unmarshal(m.Data(), &ev); err != nil {
				t.Fatalf("output is not JSON: %v", err)
			}
			if _, ok := ev["omen"]; ok {
				enriched++
			}
		}
		if got == 0 {
			break
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct events out, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("event %s came out %d times", id, c)
		}
	}
	// Lines 4 and 6 of the six carry a known value.
	if want := 2 * n / len(lines); enriched < want-2 || enriched > want+2 {
		t.Errorf("%d events enriched, want about %d", enriched, want)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
