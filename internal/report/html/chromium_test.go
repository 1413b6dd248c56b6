package html_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/chromedp/chromedp"
)

// startChromium starts Debian's headless chromium with a fresh profile and
// returns a tab in it. When the test ends the tab is closed and chromium,
// with its process group, is killed by its PID. This is the report tests'
// own small helper; seam's browser step has its launcher.
func startChromium(t testing.TB) context.Context {
	t.Helper()
	bin := os.Getenv("SEAM_CHROMIUM")
	if bin == "" {
		bin = "/usr/bin/chromium"
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("the HTML report's browser tests need Chromium: %v (install Debian's chromium: apt-get install chromium; or set SEAM_CHROMIUM)", err)
	}
	// Chromium's singleton folder (org.chromium.Chromium.*) goes under its
	// TMPDIR, and its SIGKILL below never lets it remove it: a short folder
	// of the test's own (the socket path must fit 108 bytes) takes it.
	tmp, err := os.MkdirTemp("/tmp", "seam-test-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	var cmd *exec.Cmd
	actx, acancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.Env("TMPDIR="+tmp),
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1400, 1000),
		chromedp.ModifyCmdFunc(func(c *exec.Cmd) {
			if c.SysProcAttr == nil {
				c.SysProcAttr = &syscall.SysProcAttr{}
			}
			c.SysProcAttr.Setpgid = true
			c.SysProcAttr.Pdeathsig = syscall.SIGKILL
			cmd = c
		}))
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		if cmd != nil && cmd.Process != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		acancel()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// artifactDir is where screenshots go: $SEAM_ARTIFACTS/report-html (kept
// for people to look at) or the test's temp folder.
func artifactDir(t testing.TB) string {
	if d := os.Getenv("SEAM_ARTIFACTS"); d != "" {
		d = filepath.Join(d, "report-html")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

func fileURL(path string) string {
	abs, _ := filepath.Abs(path)
	return "file://" + strings.ReplaceAll(abs, " ", "%20")
}
