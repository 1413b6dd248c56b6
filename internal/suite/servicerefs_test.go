package suite_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/suite"
)

// The fields templates read of a service are checked at load: a field it
// does not have, a port it does not name, anything but the name of a job.
func TestServiceFieldsAreChecked(t *testing.T) {
	_, file, err := loadText(t, `services:
  web:
    process: {run: [sleep, "1000"]}
    ports: [http, admin]
  db:
    postgres: {}
  migrate:
    job: {run: [true]}
tests:
  - name: t
    steps:
      - http: {url: '((service("web").ports.admn))/x'}
      - http: {url: '((service("web").uri))/x'}
      - http: {url: '((service("web").ports.admin))((service("db").dsn))((service("web")["url"]))'}
      - exec: [echo, '((service("migrate").url))', '((service("web").direct_ports.http))']
      - exec: [echo, '((service("web").ports[env.X]))', '((service("db").passwd))']
`, suite.Options{})
	var list *diag.List
	if !errors.As(err, &list) {
		t.Fatalf("Load = %v, want problems", err)
	}
	var got []string
	for _, e := range list.Errors() {
		got = append(got, strings.TrimPrefix(e.Error(), file+":"))
	}
	want := []string{
		`12:45: service("web") has no port "admn" (did you mean "admin"? its ports: http, admin)`,
		`13:39: service("web") has no field "uri" (did you mean "url"? its fields: addr, direct_ports, direct_url, host, name, port, ports, url)`,
		`15:44: service("migrate") has no url: it is a job, which has no address (of a job, templates can read only its name)`,
		`16:74: service("db") has no field "passwd" (did you mean "password"? its fields: addr, database, direct_ports, direct_url, dsn, host, name, password, port, ports, url, user)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A service whose kind did not decode is reported once, for that: the
// fields its templates read are not checked against what is left of it.
func TestServiceFieldsOfABrokenService(t *testing.T) {
	_, _, err := loadText(t, `services:
  cache:
    redis: {reset: per-tset}
tests:
  - name: t
    steps:
      - exec: [echo, '((service("cache").password))']
`, suite.Options{})
	var list *diag.List
	if !errors.As(err, &list) || list.Len() != 1 || !strings.Contains(list.Error(), `unknown mode "per-tset"`) {
		t.Errorf("Load = %v, want only the redis problem", err)
	}
}
