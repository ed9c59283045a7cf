package release

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/xgo-build/xgo-build/shim"
)

// The load target talks to the Docker engine's API itself, over its socket, with the standard
// library: GET /info for the engine's platform and image store, POST /images/load with a
// docker-save tarball. go-containerregistry's pkg/v1/daemon would do the same through
// github.com/moby/moby/client, which brings the moby API types, OpenTelemetry and more into
// every magefile that imports the release targets; the two requests need none of it.

// defaultDockerHost is the engine's socket when DOCKER_HOST is unset, as the docker CLI has it.
const defaultDockerHost = "unix:///var/run/docker.sock"

// engineInfoTimeout bounds the first question to the engine: an engine that answers nothing
// in that time is as good as none.
const engineInfoTimeout = 10 * time.Second

// engine is the API endpoint of a Docker engine.
type engine struct {
	host   string // the endpoint as DOCKER_HOST names it, for messages
	url    string // the URL the API paths are appended to
	client *http.Client
}

// parseDockerHost returns the engine that DOCKER_HOST (host) names: unix:///path, or
// tcp://host:port spoken to in plain HTTP; "" is the default socket.
func parseDockerHost(host string) (engine, error) {
	if host == "" {
		host = defaultDockerHost
	}
	u, err := url.Parse(host)
	if err != nil {
		return engine{}, errors.New("must be unix:///path/to/docker.sock or tcp://host:port")
	}
	switch u.Scheme {
	case "unix":
		path := u.Path
		if path == "" {
			path = u.Opaque
		}
		if path == "" || u.Host != "" {
			return engine{}, errors.New("a unix socket is unix:///path/to/docker.sock")
		}
		dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}
		return engine{host: host, url: "http://docker", client: &http.Client{Transport: &http.Transport{DialContext: dial}}}, nil
	case "tcp":
		if u.Host == "" || u.Path != "" && u.Path != "/" {
			return engine{}, errors.New("a TCP endpoint is tcp://host:port")
		}
		return engine{host: host, url: "http://" + u.Host, client: &http.Client{Transport: &http.Transport{}}}, nil
	}
	return engine{}, fmt.Errorf("scheme %q is not supported: load speaks to unix:// sockets and plain tcp:// endpoints only (no TLS, ssh:// or npipe://)", u.Scheme)
}

// engineInfo is what the load target needs of the engine's GET /info.
type engineInfo struct {
	OSType       string     // "linux"
	Architecture string     // as uname -m says: "x86_64", "aarch64", "armv7l"
	DriverStatus [][]string // pairs; the containerd image store has ["driver-type", "io.containerd.snapshotter.v1"]
}

// info asks the engine for its platform and image store. An engine that cannot be reached
// fails with one line that says where it was looked for and what to do.
func (e engine) info(ctx context.Context) (engineInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, engineInfoTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.url+"/info", nil)
	if err != nil {
		return engineInfo{}, fmt.Errorf("asking the Docker engine at %s: %w", e.host, err)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return engineInfo{}, fmt.Errorf("no Docker engine at %s: %w; start it or set DOCKER_HOST", e.host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return engineInfo{}, fmt.Errorf("asking the Docker engine at %s for its info: %s", e.host, apiError(resp))
	}
	var info engineInfo
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&info); err != nil {
		return engineInfo{}, fmt.Errorf("reading the info of the Docker engine at %s: %w", e.host, err)
	}
	return info, nil
}

// containerdStore reports whether the engine keeps its images in containerd's image store,
// which can hold a multi-platform index.
func (i engineInfo) containerdStore() bool {
	for _, kv := range i.DriverStatus {
		if len(kv) == 2 && kv[0] == "driver-type" && kv[1] == "io.containerd.snapshotter.v1" {
			return true
		}
	}
	return false
}

// armMachines are the uname -m names of arm that name a variant, which shim.Parse does not
// take as arches.
var armMachines = map[string]string{"armv5l": "arm/v5", "armv6l": "arm/v6", "armv7l": "arm/v7", "armv8l": "arm/v7"}

// platform returns the engine's platform, the one its containers run natively.
func (i engineInfo) platform() (shim.Platform, error) {
	goos, arch := strings.ToLower(i.OSType), strings.ToLower(i.Architecture)
	if goos == "" {
		goos = "linux"
	}
	if a, ok := armMachines[arch]; ok {
		arch = a
	}
	p, err := shim.Parse(goos + "/" + arch)
	if err != nil {
		return shim.Platform{}, fmt.Errorf("the Docker engine's platform %s/%s is not one the release builds: set XGO_LOAD_PLATFORM", i.OSType, i.Architecture)
	}
	return p, nil
}

// load sends tar, a docker-save tarball, to the engine's POST /images/load and reads its
// answer, a stream of JSON messages of which one may be an error.
func (e engine) load(ctx context.Context, tar io.Reader) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url+"/images/load?quiet=1", tar)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-tar")
	resp, err := e.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(apiError(resp))
	}
	dec := json.NewDecoder(resp.Body)
	for {
		var m struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("reading the engine's answer: %w", err)
		}
		if m.ErrorDetail.Message != "" {
			return errors.New(m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
	}
}

// apiError returns what a failed API response says: its status and the engine's message.
func apiError(resp *http.Response) string {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var m struct {
		Message string `json:"message"`
	}
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &m) == nil && m.Message != "" {
		msg = m.Message
	}
	if msg == "" {
		return resp.Status
	}
	return resp.Status + ": " + msg
}
