// Package httpstep is the `http` step kind: one HTTP request, its response
// as status, headers and body.
package httpstep

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expect"
	"github.com/seamtest/seam/internal/expr"
	"github.com/seamtest/seam/internal/step"
	"go.yaml.in/yaml/v4"
)

// maxBody caps how much of a response body is read into the result.
const maxBody = 16 << 20

// Kind is the http step kind. Its clients are shared by every step so
// keep-alive connections are reused across steps.
type Kind struct {
	clients [4]*http.Client // index: insecure<<1 | noRedirect
}

// New returns the http step kind.
func New() *Kind {
	k := &Kind{}
	for i := range k.clients {
		insecure, noRedirect := i&2 != 0, i&1 != 0
		tr := &http.Transport{
			Proxy:               nil, // a test talks to the system under test, not through the user's proxy
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     30 * time.Second,
			ForceAttemptHTTP2:   true,
		}
		if insecure {
			tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for by the suite
		}
		c := &http.Client{Transport: tr}
		if noRedirect {
			c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		}
		k.clients[i] = c
	}
	return k
}

// Close drops idle connections.
func (k *Kind) Close() {
	for _, c := range k.clients {
		c.CloseIdleConnections()
	}
}

func (k *Kind) Usage() step.Usage {
	return step.Usage{
		Name:    "http",
		Summary: "send one HTTP request and check the response",
		Inputs: []step.Input{
			{Name: "method", Doc: "GET (default), POST, PUT, PATCH, DELETE, HEAD, OPTIONS"},
			{Name: "url", Doc: "full URL; or give service and path"},
			{Name: "service", Doc: "name of a service of the suite; its URL is the base"},
			{Name: "path", Doc: "path appended to the service URL"},
			{Name: "headers", Doc: "request headers, a mapping"},
			{Name: "query", Doc: "query parameters, a mapping (a list value repeats the key)"},
			{Name: "json", Doc: "body sent as JSON (any YAML value; Content-Type application/json)"},
			{Name: "form", Doc: "body sent as application/x-www-form-urlencoded, a mapping"},
			{Name: "body", Doc: "raw body text"},
			{Name: "redirects", Doc: "follow redirects (default true)"},
			{Name: "insecure", Doc: "skip TLS certificate verification (default false)"},
		},
		Fields: []expect.Field{
			{Name: "status", Doc: "status code, a number", Shape: expect.ScalarShape},
			{Name: "headers", Doc: "response headers; names compare case-insensitively; repeated headers are a list", FoldKeys: true, Shape: expect.HeadersShape},
			{Name: "body", Doc: "the body: parsed JSON when it is JSON, else text"},
			{Name: "text", Doc: "the body as text, always", Shape: expect.ScalarShape},
			{Name: "duration_ms", Doc: "time to the full response, in milliseconds", Shape: expect.ScalarShape},
		},
		Example: "http: {method: POST, url: ((base))/orders, json: {sku: A1, qty: 2}}\nexpect: {status: 201, body: {.status: paid}}",
	}
}

type action struct {
	kind      *Kind
	Method    expr.Str            `yaml:"method"`
	URL       expr.Str            `yaml:"url"`
	Service   expr.Str            `yaml:"service"`
	Path      expr.Str            `yaml:"path"`
	Headers   map[string]expr.Str `yaml:"headers"`
	Query     expr.Value          `yaml:"query"`
	JSON      expr.Value          `yaml:"json"`
	Form      expr.Value          `yaml:"form"`
	Body      expr.Str            `yaml:"body"`
	Redirects *bool               `yaml:"redirects"`
	Insecure  bool                `yaml:"insecure"`
}

// Decode implements step.Kind.
func (k *Kind) Decode(d *decode.Decoder, n *yaml.Node) step.Action {
	a := &action{kind: k}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		// Short form: `http: GET ((base))/health`.
		n = shortForm(d, n)
		if n == nil {
			return nil
		}
	}
	before := d.Errs.Len()
	d.Decode(n, a, "http")
	if d.Errs.Len() > before {
		return nil
	}
	if a.URL.IsZero() == a.Service.IsZero() {
		d.Errorf(n, "http: give either url or service (with path)").WithHint("url: http://127.0.0.1:8080/health, or service: orders and path: /health")
		return nil
	}
	if !a.Path.IsZero() && a.Service.IsZero() {
		d.Errorf(n, "http: path needs service").WithHint("with url, put the path in the URL")
	}
	bodies := 0
	for _, set := range []bool{a.JSON.IsSet(), a.Form.IsSet(), !a.Body.IsZero()} {
		if set {
			bodies++
		}
	}
	if bodies > 1 {
		d.Errorf(n, "http: give at most one of json, form and body")
	}
	if m := a.Method.Raw; m != "" && !a.Method.IsTemplate() {
		switch strings.ToUpper(m) {
		case "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT":
		default:
			// At the method itself, which may come from a merged mapping.
			d.Report(n, diag.Errorf(a.Method.Pos, "http: unknown method %q", m)).
				WithHint("one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS")
		}
	}
	return a
}

func shortForm(d *decode.Decoder, n *yaml.Node) *yaml.Node {
	raw := n.Value
	method, target := "GET", strings.TrimSpace(raw)
	if m, t, ok := strings.Cut(strings.TrimSpace(raw), " "); ok {
		method, target = m, strings.TrimSpace(t)
	}
	m := &yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column}
	// Keep positions true to the source (through quotes and escapes), so
	// a problem in the method or the URL is shown under it.
	scalar := func(s string, offset int) *yaml.Node {
		p := d.PosIn(n, offset)
		if p.Col == 0 {
			p.Line, p.Col = n.Line, n.Column
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Line: p.Line, Column: p.Col}
	}
	start := len(raw) - len(strings.TrimLeft(raw, " \t\r\n"))
	at := strings.Index(raw, target)
	m.Content = append(m.Content, scalar("method", start), scalar(method, start), scalar("url", at), scalar(target, at))
	return m
}

// ServiceRefs implements step.ServiceUser.
func (a *action) ServiceRefs() []step.Ref { return step.Refs(a.Service) }

func (a *action) Run(ctx context.Context, env *step.Env) (*step.Result, error) {
	req, sent, err := a.request(ctx, env)
	if err != nil {
		return nil, err
	}
	client := a.kind.clients[a.clientIndex()]
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return &step.Result{Request: sent}, describeErr(ctx, req, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	elapsed := time.Since(start)
	if err != nil {
		return &step.Result{Request: sent}, fmt.Errorf("reading the response body of %s %s: %w", req.Method, req.URL, describeErr(ctx, req, err))
	}
	truncated := len(data) > maxBody
	if truncated {
		data = data[:maxBody]
	}
	fields := map[string]any{
		"status":      resp.StatusCode,
		"headers":     step.HeaderFields(resp.Header),
		"text":        string(data),
		"body":        bodyValue(resp.Header.Get("Content-Type"), data),
		"duration_ms": float64(elapsed.Microseconds()) / 1000,
	}
	return &step.Result{Fields: fields, Request: sent, Response: responseText(resp, data, truncated)}, nil
}

func (a *action) clientIndex() int {
	i := 0
	if a.Insecure {
		i |= 2
	}
	if a.Redirects != nil && !*a.Redirects {
		i |= 1
	}
	return i
}

func (a *action) request(ctx context.Context, env *step.Env) (*http.Request, string, error) {
	method := "GET"
	if !a.Method.IsZero() {
		m, err := a.Method.String(env.Vars)
		if err != nil {
			return nil, "", fmt.Errorf("method: %w", err)
		}
		method = strings.ToUpper(m)
	}
	var target string
	if !a.URL.IsZero() {
		u, err := a.URL.String(env.Vars)
		if err != nil {
			return nil, "", fmt.Errorf("url: %w", err)
		}
		target = u
	} else {
		name, err := a.Service.String(env.Vars)
		if err != nil {
			return nil, "", fmt.Errorf("service: %w", err)
		}
		if env.Services == nil {
			return nil, "", fmt.Errorf("service %q: this suite starts no services", name)
		}
		base, err := env.Services.URL(name)
		if err != nil {
			return nil, "", err
		}
		p, err := a.Path.String(env.Vars)
		if err != nil {
			return nil, "", fmt.Errorf("path: %w", err)
		}
		if p != "" && !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
		target = strings.TrimSuffix(base, "/") + p
	}
	u, err := url.Parse(target)
	if err != nil {
		return nil, "", fmt.Errorf("url %q: %v", target, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, "", fmt.Errorf("url %q: want an http:// or https:// URL", target)
	}
	if a.Query.IsSet() {
		qv, err := a.Query.Eval(env.Vars)
		if err != nil {
			return nil, "", fmt.Errorf("query: %w", err)
		}
		q := u.Query()
		m, ok := qv.(map[string]any)
		if !ok {
			return nil, "", fmt.Errorf("query: want a mapping, got %s", expr.TypeName(qv))
		}
		for _, k := range expr.SortedKeys(m) {
			if list, ok := m[k].([]any); ok {
				for _, x := range list {
					q.Add(k, expr.Format(x))
				}
			} else {
				q.Add(k, expr.Format(m[k]))
			}
		}
		u.RawQuery = q.Encode()
	}
	var body []byte
	contentType := ""
	switch {
	case a.JSON.IsSet():
		v, err := a.JSON.Eval(env.Vars)
		if err != nil {
			return nil, "", fmt.Errorf("json: %w", err)
		}
		var buf bytes.Buffer
		enc := newJSONEncoder(&buf)
		if err := enc.Encode(v); err != nil {
			return nil, "", fmt.Errorf("json: %w", err)
		}
		body = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		contentType = "application/json"
	case a.Form.IsSet():
		v, err := a.Form.Eval(env.Vars)
		if err != nil {
			return nil, "", fmt.Errorf("form: %w", err)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, "", fmt.Errorf("form: want a mapping, got %s", expr.TypeName(v))
		}
		f := url.Values{}
		for _, k := range expr.SortedKeys(m) {
			f.Add(k, expr.Format(m[k]))
		}
		body = []byte(f.Encode())
		contentType = "application/x-www-form-urlencoded"
	case !a.Body.IsZero():
		s, err := a.Body.String(env.Vars)
		if err != nil {
			return nil, "", fmt.Errorf("body: %w", err)
		}
		body = []byte(s)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, "", fmt.Errorf("request: %v", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("User-Agent", "seam")
	for _, k := range expr.SortedKeys(a.Headers) {
		v, err := a.Headers[k].String(env.Vars)
		if err != nil {
			return nil, "", fmt.Errorf("headers.%s: %w", k, err)
		}
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	return req, requestText(req, body), nil
}

func describeErr(ctx context.Context, req *http.Request, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s %s: no response before the step timed out", req.Method, req.URL)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s %s: cancelled", req.Method, req.URL)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("%s %s: %v", req.Method, req.URL, err)
}

func bodyValue(contentType string, data []byte) any {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return ""
	}
	isJSON := strings.Contains(contentType, "json")
	if !isJSON && contentType == "" && (trimmed[0] == '{' || trimmed[0] == '[') {
		isJSON = true
	}
	if isJSON {
		if v, err := expr.DecodeJSON(trimmed); err == nil {
			return v
		}
	}
	return string(data)
}

const excerptLimit = 2048

func requestText(req *http.Request, body []byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", req.Method, req.URL)
	writeHeaders(&b, req.Header, true)
	if len(body) > 0 {
		b.WriteString("\n")
		b.WriteString(clip(body))
	}
	return strings.TrimRight(b.String(), "\n")
}

func responseText(resp *http.Response, body []byte, truncated bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", resp.Proto, resp.Status)
	writeHeaders(&b, resp.Header, false)
	if len(body) > 0 {
		b.WriteString("\n")
		b.WriteString(clip(body))
		if truncated {
			b.WriteString("\n… (body over 16 MiB, cut)")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func clip(body []byte) string {
	if len(body) > excerptLimit {
		return diag.Prefix(string(body), excerptLimit) + fmt.Sprintf("… (%d bytes in all)", len(body))
	}
	return string(body)
}

// masked are headers whose values are secrets and never printed.
var masked = map[string]bool{"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "Set-Cookie": true, "X-Api-Key": true}

func writeHeaders(b *strings.Builder, h http.Header, request bool) {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			if masked[http.CanonicalHeaderKey(k)] {
				v = "***"
			}
			fmt.Fprintf(b, "%s: %s\n", k, v)
		}
	}
}
