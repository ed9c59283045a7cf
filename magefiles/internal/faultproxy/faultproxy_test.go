package faultproxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// upstream answers with the Host it saw and the size of the body it read.
func upstream(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Host", r.Host)
		w.Header().Set("X-Body", strings.Repeat("b", int(min(n, 8))))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func start(t *testing.T, f Faults) *Proxy {
	p, err := Start(upstream(t).URL, f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func get(t *testing.T, p *Proxy) (*http.Response, error) {
	t.Helper()
	return (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Get("http://" + p.Host() + "/v2/")
}

func TestForwardKeepsHost(t *testing.T) {
	p := start(t, Faults{})
	resp, err := get(t, p)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Host") != p.Host() {
		t.Fatalf("status %d, upstream saw Host %q; want 200 and %q", resp.StatusCode, resp.Header.Get("X-Host"), p.Host())
	}
	if s := p.Stats(); s.Requests != 1 || s.Forwarded != 1 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestFailures(t *testing.T) {
	p := start(t, Faults{FailRate: 1, RetryAfter: 7, Seed: 1})
	codes := map[int]int{}
	for range 40 {
		resp, err := get(t, p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes[resp.StatusCode]++
		if resp.StatusCode == 429 && resp.Header.Get("Retry-After") != "7" {
			t.Fatalf("429 with Retry-After %q", resp.Header.Get("Retry-After"))
		}
	}
	if codes[503] == 0 || codes[429] == 0 || codes[503]+codes[429] != 40 {
		t.Fatalf("answers %v; want only 503 and 429, both", codes)
	}
	if s := p.Stats(); s.Failed != 40 || s.Forwarded != 0 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestCutUploads(t *testing.T) {
	p := start(t, Faults{CutRate: 1})
	body := strings.NewReader(strings.Repeat("x", 1<<20))
	req, _ := http.NewRequest(http.MethodPut, "http://"+p.Host()+"/v2/x/blobs/uploads/1", body)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("upload answered %d; want a broken connection", resp.StatusCode)
	}
	// Requests without a body are not cut.
	resp, err := get(t, p)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if s := p.Stats(); s.Cut != 1 || s.Forwarded != 1 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestOutageAndHeal(t *testing.T) {
	p := start(t, Faults{OutageAfter: 2})
	for i := 1; i <= 4; i++ {
		resp, err := get(t, p)
		if i <= 2 {
			if err != nil {
				t.Fatalf("request %d before the outage: %v", i, err)
			}
			resp.Body.Close()
		} else if err == nil {
			resp.Body.Close()
			t.Fatalf("request %d during the outage answered %d", i, resp.StatusCode)
		}
	}
	p.Heal()
	resp, err := get(t, p)
	if err != nil {
		t.Fatalf("after Heal: %v", err)
	}
	resp.Body.Close()
	if s := p.Stats(); s.Refused != 2 || s.Forwarded != 3 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestSeedRepeats(t *testing.T) {
	run := func() []int {
		p := start(t, Faults{FailRate: 0.5, Seed: 42})
		var codes []int
		for range 20 {
			resp, err := get(t, p)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			codes = append(codes, resp.StatusCode)
		}
		return codes
	}
	a, b := run(), run()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, different faults: %v vs %v", a, b)
		}
	}
}
