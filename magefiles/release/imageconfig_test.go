package release

import (
	"reflect"
	"strings"
	"testing"

	"github.com/xgo-build/xgo-build/shim"
)

// TestReadImageConfig is the table of the image config variables: each valid form and what
// it gives, and each invalid one with the message.
func TestReadImageConfig(t *testing.T) {
	arm64 := shim.Platform{OS: "linux", Arch: "arm64"}
	armv7, err := shim.Parse("linux/arm/v7")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, value string
		platforms   string // XGO_PLATFORMS
		byDigest    bool
		want        imageConfig
		err         string // the whole message; "" for none
	}{
		// XGO_LABELS
		{name: "XGO_LABELS", value: "a=1,b.c=x y", want: imageConfig{Labels: map[string]string{"a": "1", "b.c": "x y"}}},
		{name: "XGO_LABELS", value: " a = 1 , b= ", err: `XGO_LABELS=" a = 1 , b= ": key "a " must not hold blanks or control characters`},
		{name: "XGO_LABELS", value: "a=1, b= ", want: imageConfig{Labels: map[string]string{"a": "1", "b": ""}}},
		{name: "XGO_LABELS", value: "a=x=y,a=last", want: imageConfig{Labels: map[string]string{"a": "last"}}},
		{name: "XGO_LABELS", value: "org.opencontainers.image.description=one, two\n\n  org.opencontainers.image.title=app\n",
			want: imageConfig{Labels: map[string]string{"org.opencontainers.image.description": "one, two", "org.opencontainers.image.title": "app"}}},
		{name: "XGO_LABELS", value: "desc=a,b\n", want: imageConfig{Labels: map[string]string{"desc": "a,b"}}},
		{name: "XGO_LABELS", value: "a=1,,b=2", err: `XGO_LABELS="a=1,,b=2": empty entry in the list`},
		{name: "XGO_LABELS", value: "a=1,", err: `XGO_LABELS="a=1,": empty entry in the list`},
		{name: "XGO_LABELS", value: "\n\n", err: `XGO_LABELS="\n\n": no entries given`},
		{name: "XGO_LABELS", value: "novalue", err: `XGO_LABELS="novalue": entry "novalue" must be key=value`},
		{name: "XGO_LABELS", value: "=x", err: `XGO_LABELS="=x": entry "=x" has an empty key`},
		{name: "XGO_LABELS", value: "a b=x", err: `XGO_LABELS="a b=x": key "a b" must not hold blanks or control characters`},
		{name: "XGO_LABELS", value: "a=\xff", err: `XGO_LABELS="a=\xff": the value of "a" must be UTF-8 text without NUL`},

		// XGO_ANNOTATIONS
		{name: "XGO_ANNOTATIONS", value: "a=1,manifest:b=2,index:c=3,manifest[linux/arm64]:d=4,manifest[linux/arm]:e=5",
			platforms: "linux/amd64,linux/arm64,linux/arm/v7",
			want: imageConfig{Annotations: annotationSet{
				Manifest:   map[string]string{"a": "1", "b": "2"},
				Index:      map[string]string{"c": "3"},
				ByPlatform: map[shim.Platform]map[string]string{arm64: {"d": "4"}, armv7: {"e": "5"}},
			}}},
		{name: "XGO_ANNOTATIONS", value: "manifest:com.example:x=1\nindex:org.opencontainers.image.description=a, b\n",
			want: imageConfig{Annotations: annotationSet{
				Manifest: map[string]string{"com.example:x": "1"},
				Index:    map[string]string{"org.opencontainers.image.description": "a, b"},
			}}},
		{name: "XGO_ANNOTATIONS", value: "com.example:x=1", err: `XGO_ANNOTATIONS="com.example:x=1": unknown scope "com.example": must be index, manifest or manifest[os/arch[/variant]]`},
		{name: "XGO_ANNOTATIONS", value: "manifest-descriptor:a=1", err: `XGO_ANNOTATIONS="manifest-descriptor:a=1": scope "manifest-descriptor" is not supported: must be index, manifest or manifest[os/arch[/variant]]`},
		{name: "XGO_ANNOTATIONS", value: "index-descriptor:a=1", err: `XGO_ANNOTATIONS="index-descriptor:a=1": scope "index-descriptor" is not supported: must be index, manifest or manifest[os/arch[/variant]]`},
		{name: "XGO_ANNOTATIONS", value: "index:=1", err: `XGO_ANNOTATIONS="index:=1": entry "index:=1" has an empty key`},
		{name: "XGO_ANNOTATIONS", value: "manifest[linux/arm64:a=1", err: `XGO_ANNOTATIONS="manifest[linux/arm64:a=1": unknown scope "manifest[linux/arm64": must be index, manifest or manifest[os/arch[/variant]]`},
		{name: "XGO_ANNOTATIONS", value: "manifest[linux/arm/v9]:a=1", err: `XGO_ANNOTATIONS="manifest[linux/arm/v9]:a=1": scope "manifest[linux/arm/v9]": invalid platform "linux/arm/v9": `},
		{name: "XGO_ANNOTATIONS", value: "manifest[linux/s390x]:a=1", platforms: "linux/amd64,linux/arm64",
			err: `XGO_ANNOTATIONS="manifest[linux/s390x]:a=1": scope manifest[linux/s390x] names a platform the release does not build: must be one of linux/amd64, linux/arm64`},
		// A by-digest job drops the other jobs' platforms; all is checked by plan.
		{name: "XGO_ANNOTATIONS", value: "manifest[linux/s390x]:a=1,manifest[linux/arm64]:b=2", platforms: "linux/arm64", byDigest: true,
			want: imageConfig{Annotations: annotationSet{ByPlatform: map[shim.Platform]map[string]string{arm64: {"b": "2"}}}}},
		{name: "XGO_ANNOTATIONS", value: "manifest[linux/s390x]:a=1", platforms: "all",
			want: imageConfig{Annotations: annotationSet{ByPlatform: map[shim.Platform]map[string]string{{OS: "linux", Arch: "s390x"}: {"a": "1"}}}}},

		// XGO_USER
		{name: "XGO_USER", value: "65532:65532", want: imageConfig{User: "65532:65532"}},
		{name: "XGO_USER", value: " nonroot ", want: imageConfig{User: "nonroot"}},
		{name: "XGO_USER", value: "app:staff", want: imageConfig{User: "app:staff"}},
		{name: "XGO_USER", value: "0", want: imageConfig{User: "0"}},
		{name: "XGO_USER", value: "a b", err: `XGO_USER="a b": must be user[:group], each a name (letters, digits, ., _ and -) or a numeric id, such as 65532:65532 or nonroot`},
		{name: "XGO_USER", value: "app:", err: `XGO_USER="app:": must be user[:group], each a name (letters, digits, ., _ and -) or a numeric id, such as 65532:65532 or nonroot`},
		{name: "XGO_USER", value: "a:b:c", err: `XGO_USER="a:b:c": must be user[:group], each a name (letters, digits, ., _ and -) or a numeric id, such as 65532:65532 or nonroot`},
		{name: "XGO_USER", value: "-x", err: `XGO_USER="-x": must be user[:group], each a name (letters, digits, ., _ and -) or a numeric id, such as 65532:65532 or nonroot`},
		{name: "XGO_USER", value: "4294967296", err: `XGO_USER="4294967296": must be user[:group], each a name (letters, digits, ., _ and -) or a numeric id, such as 65532:65532 or nonroot`},

		// XGO_ENV
		{name: "XGO_ENV", value: "A=1,B=,A=2", want: imageConfig{Env: []string{"A=2", "B="}}},
		{name: "XGO_ENV", value: "OPTS=-a,-b\nPATH=/app:/bin\n", want: imageConfig{Env: []string{"OPTS=-a,-b", "PATH=/app:/bin"}}},
		{name: "XGO_ENV", value: "A", err: `XGO_ENV="A": entry "A" must be key=value`},
		{name: "XGO_ENV", value: "=1", err: `XGO_ENV="=1": entry "=1" has an empty key`},
		{name: "XGO_ENV", value: "A\tB=1", err: `XGO_ENV="A\tB=1": key "A\tB" must not hold blanks or control characters`},
		{name: "XGO_ENV", value: "A=\x00", err: `XGO_ENV="A=\x00": the value of "A" must be UTF-8 text without NUL`},

		// XGO_WORKDIR
		{name: "XGO_WORKDIR", value: "/app", want: imageConfig{WorkingDir: "/app"}},
		{name: "XGO_WORKDIR", value: "/srv//app/../data/", want: imageConfig{WorkingDir: "/srv/data"}},
		{name: "XGO_WORKDIR", value: "app", err: `XGO_WORKDIR="app": must be an absolute path such as /app`},
		{name: "XGO_WORKDIR", value: "/a\nb", err: `XGO_WORKDIR="/a\nb": must be an absolute path such as /app`},

		// XGO_PORTS
		{name: "XGO_PORTS", value: "8080/tcp,53/udp, 9000 ,132/SCTP,8080", want: imageConfig{Ports: []string{"8080/tcp", "53/udp", "9000/tcp", "132/sctp"}}},
		{name: "XGO_PORTS", value: "65535", want: imageConfig{Ports: []string{"65535/tcp"}}},
		{name: "XGO_PORTS", value: "0", err: `XGO_PORTS="0": entry "0" must be a port 1-65535 with /tcp, /udp or /sctp (tcp when none), such as 8080/tcp`},
		{name: "XGO_PORTS", value: "65536/tcp", err: `XGO_PORTS="65536/tcp": entry "65536/tcp" must be a port 1-65535 with /tcp, /udp or /sctp (tcp when none), such as 8080/tcp`},
		{name: "XGO_PORTS", value: "80/icmp", err: `XGO_PORTS="80/icmp": entry "80/icmp" must be a port 1-65535 with /tcp, /udp or /sctp (tcp when none), such as 8080/tcp`},
		{name: "XGO_PORTS", value: "8000-8010/tcp", err: `XGO_PORTS="8000-8010/tcp": entry "8000-8010/tcp" must be a port 1-65535 with /tcp, /udp or /sctp (tcp when none), such as 8080/tcp`},
		{name: "XGO_PORTS", value: "080", err: `XGO_PORTS="080": entry "080" must be a port 1-65535 with /tcp, /udp or /sctp (tcp when none), such as 8080/tcp`},
		{name: "XGO_PORTS", value: "+80", err: `XGO_PORTS="+80": entry "+80" must be a port 1-65535 with /tcp, /udp or /sctp (tcp when none), such as 8080/tcp`},
		{name: "XGO_PORTS", value: "80,", err: `XGO_PORTS="80,": empty entry in the list`},
	} {
		pl, err := parsePlatformList(tt.platforms)
		if err != nil {
			t.Fatal(err)
		}
		got, errs := readImageConfig(envMap(map[string]string{tt.name: tt.value}), pl, tt.byDigest)
		switch {
		case tt.err == "" && len(errs) != 0:
			t.Errorf("%s=%q: %v", tt.name, tt.value, errs)
		case tt.err != "" && (len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), tt.err)):
			t.Errorf("%s=%q: errors %v, want one starting %s", tt.name, tt.value, errs, tt.err)
		case tt.err == "" && !reflect.DeepEqual(got, tt.want):
			t.Errorf("%s=%q:\n got %+v\nwant %+v", tt.name, tt.value, got, tt.want)
		}
	}
}

// TestReadEnvImageConfig checks that readEnv reads the image config variables, and that a
// platform scope is checked against XGO_PLATFORMS.
func TestReadEnvImageConfig(t *testing.T) {
	dir := t.TempDir()
	c, errs := readEnv(dir, envMap(map[string]string{"XGO_USER": "1:2", "XGO_PORTS": "80", "XGO_PLATFORMS": "linux/amd64"}))
	if len(errs) != 0 || c.Image.User != "1:2" || len(c.Image.Ports) != 1 {
		t.Errorf("readEnv: %+v, %v", c.Image, errs)
	}
	_, errs = readEnv(dir, envMap(map[string]string{"XGO_ANNOTATIONS": "manifest[linux/arm64]:a=1", "XGO_PLATFORMS": "linux/amd64", "XGO_WORKDIR": "x"}))
	if len(errs) != 2 {
		t.Errorf("readEnv with a bad annotation scope and workdir: %v, want 2 errors", errs)
	}
}

// TestCheckAllPlatforms checks the scope of annotations against the platforms that
// XGO_PLATFORMS=all resolved to.
func TestCheckAllPlatforms(t *testing.T) {
	set, err := parseAnnotations("manifest[linux/arm64]:a=1")
	if err != nil {
		t.Fatal(err)
	}
	ic := imageConfig{Annotations: set}
	if err := ic.checkAllPlatforms([]target{{Platform: shim.Platform{OS: "linux", Arch: "arm64"}}}); err != nil {
		t.Error(err)
	}
	err = ic.checkAllPlatforms([]target{{Platform: shim.Platform{OS: "linux", Arch: "amd64"}}})
	if want := `XGO_ANNOTATIONS with XGO_PLATFORMS="all": scope manifest[linux/arm64] names a platform the release does not build: must be one of linux/amd64`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}
