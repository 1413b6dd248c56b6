package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// moment is a point of a run at which seam is killed.
type moment struct {
	name string
	warm bool   // the cache is filled first: no build, no initdb
	hold string // KILLMATRIX_HOLD: the fixture holds this moment
	// reached reports, polled, whether the run is at the moment.
	reached func(c *kase) bool
}

// moments are the matrix's rows, cold runs first.
func moments() []moment {
	marker := func(name string) func(c *kase) bool {
		return func(c *kase) bool {
			_, err := os.Stat(filepath.Join(c.markers, name))
			return err == nil
		}
	}
	return []moment{
		// go build itself (not held): the go command or its compiler or
		// linker runs under the build's shell.
		{name: "build (go, linker)", reached: func(c *kase) bool {
			for _, p := range c.procs() {
				switch p.comm {
				case "go", "compile", "link", "asm":
					return true
				}
			}
			return false
		}},
		{name: "build (held)", hold: "build", reached: marker("build")},
		// initdb's bootstrap or single-user backend is running (started
		// through a shell by initdb).
		{name: "initdb", reached: func(c *kase) bool {
			initdb := map[int]bool{}
			for _, p := range c.procs() {
				if p.comm == "initdb" {
					initdb[p.pid] = true
				}
			}
			if len(initdb) == 0 {
				return false
			}
			ps := allProcs()
			parent := map[int]int{}
			for _, p := range ps {
				parent[p.pid] = p.ppid
			}
			for _, p := range ps {
				if p.comm == "postgres" && (initdb[parent[p.pid]] || initdb[parent[parent[p.pid]]]) {
					return true
				}
			}
			return false
		}},
		// The server that makes the cache (init files, baseline) runs.
		{name: "cache server", reached: func(c *kase) bool {
			for _, p := range allProcs() {
				if p.comm == "postgres" && strings.Contains(p.cmdline, c.scratch+"/seam-initdb-") && strings.Contains(p.cmdline, "\x00-p\x00") {
					return true
				}
			}
			return false
		}},
		{name: "service start", hold: "start", reached: marker("start")},
		{name: "test", hold: "test", reached: marker("test")},
		{name: "teardown", hold: "teardown", reached: marker("teardown")},
		{name: "service start", warm: true, hold: "start", reached: marker("start")},
		{name: "test", warm: true, hold: "test", reached: marker("test")},
		{name: "teardown", warm: true, hold: "teardown", reached: marker("teardown")},
	}
}

// kase is one cell of the matrix: its own folders and environment.
type kase struct {
	seam, suite                      string
	root, state, cache, scratch, tmp string
	markers, id                      string
}

// newCase makes a case's folders under base (reachable by the user
// PostgreSQL runs as); cache, when given, is a filled cache to share.
func newCase(seam, suite, base, cache string) (*kase, error) {
	root, err := os.MkdirTemp(base, "killmatrix-")
	if err != nil {
		return nil, err
	}
	c := &kase{seam: seam, suite: suite, root: root, state: filepath.Join(root, "state"), cache: cache,
		scratch: filepath.Join(root, "scratch"), tmp: filepath.Join(root, "tmp"), markers: filepath.Join(root, "markers"),
		id: filepath.Base(root)}
	if c.cache == "" {
		c.cache = filepath.Join(root, "cache")
	}
	for _, d := range []string{root, c.scratch, c.tmp, c.markers} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
		if err := os.Chmod(d, 0o755); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *kase) env(hold string) []string {
	return append(os.Environ(), "NO_COLOR=1", "SEAM_STATE_DIR="+c.state, "SEAM_CACHE_DIR="+c.cache,
		"SEAM_SCRATCH_DIR="+c.scratch, "TMPDIR="+c.tmp, "KILLMATRIX_HOLD="+hold,
		"KILLMATRIX_MARKERS="+c.markers, "KILLMATRIX_CASE="+c.id)
}

// remove removes the case's folders, and whatever it left (after the
// count).
func (c *kase) remove() {
	for _, p := range c.procs() {
		_ = syscall.Kill(p.pid, syscall.SIGKILL)
	}
	os.RemoveAll(c.root)
}

// run runs seam to its end.
func (c *kase) run(args ...string) (string, error) {
	cmd := exec.Command(c.seam, args...)
	cmd.Env = c.env("")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// result is what a case left.
type result struct {
	reached  bool
	procs    []string
	ports    int
	folders  []string
	shm      []string
	files    []string
	down     time.Duration
	exitedIn time.Duration // how long seam took to exit after the signal
	out      string
}

func (r result) leftovers() int {
	return len(r.procs) + r.ports + len(r.folders) + len(r.shm) + len(r.files)
}

// kill runs seam on the suite, sends sig at moment m, then runs seam down
// and counts what is left.
func (c *kase) kill(m moment, sig syscall.Signal) (result, error) {
	var r result
	before := shmNow()
	cmd := exec.Command(c.seam, "run", c.suite)
	cmd.Env = c.env(m.hold)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return r, err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(90 * time.Second)
	for !r.reached && time.Now().Before(deadline) {
		select {
		case <-exited:
			deadline = time.Now()
			continue
		default:
		}
		r.reached = m.reached(c)
		if !r.reached {
			time.Sleep(time.Millisecond)
		}
	}
	sent := time.Now()
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
	r.exitedIn = time.Since(sent)
	r.out = out.String()
	began := time.Now()
	down := exec.Command(c.seam, "down")
	down.Env = c.env("")
	if o, err := down.CombinedOutput(); err != nil {
		r.out += "\nseam down: " + err.Error() + "\n" + string(o)
	}
	r.down = time.Since(began)
	c.count(&r, before)
	return r, nil
}

// count fills r with what the case left: processes carrying its
// environment or naming its folders, the ports they listen on, folders in
// its scratch and temp folders and half-written cache entries, System V
// segments and PostgreSQL's /dev/shm files made since before with nothing
// attached, and run records.
func (c *kase) count(r *result, before shmState) {
	ps := c.procs()
	inodes := listening()
	for _, p := range ps {
		r.procs = append(r.procs, fmt.Sprintf("%d %s", p.pid, strings.ReplaceAll(strings.TrimRight(p.cmdline, "\x00"), "\x00", " ")))
		fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", p.pid))
		for _, fd := range fds {
			if l, err := os.Readlink(fd); err == nil && inodes[l] {
				r.ports++
			}
		}
	}
	for _, d := range []string{c.scratch, c.tmp} {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			r.folders = append(r.folders, filepath.Join(d, e.Name()))
		}
	}
	for _, pat := range []string{"build/tmp-*", "*/*.tmp-*", "*/*.old-*"} {
		m, _ := filepath.Glob(filepath.Join(c.cache, pat))
		r.folders = append(r.folders, m...)
	}
	r.files, _ = filepath.Glob(filepath.Join(c.state, "runs", "*"))
	now := shmNow()
	mapped := mappedShm()
	for id, nattch := range now.sysv {
		if _, old := before.sysv[id]; !old && nattch == 0 {
			r.shm = append(r.shm, "sysv "+id)
		}
	}
	for f := range now.files {
		if !before.files[f] && !mapped[f] {
			r.shm = append(r.shm, f)
		}
	}
	sort.Strings(r.shm)
}

// proc is a process as /proc shows it.
type proc struct {
	pid, ppid int
	comm      string
	cmdline   string
	env       string
}

func allProcs() []proc {
	ents, _ := os.ReadDir("/proc")
	var out []proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		i, j := bytes.IndexByte(st, '('), bytes.LastIndexByte(st, ')')
		if i < 0 || j < i {
			continue
		}
		f := strings.Fields(string(st[j+1:]))
		if len(f) < 2 || f[0] == "Z" {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		out = append(out, proc{pid: pid, ppid: ppid, comm: string(st[i+1 : j]), cmdline: string(cmdline), env: string(env)})
	}
	return out
}

// procs lists the case's live processes: those carrying its environment
// (seam, and everything it starts that keeps its environment) and those
// naming its folders (PostgreSQL, which overwrites its environment).
func (c *kase) procs() []proc {
	self := os.Getpid()
	mark := "KILLMATRIX_CASE=" + c.id + "\x00"
	var out []proc
	for _, p := range allProcs() {
		if p.pid == self {
			continue
		}
		if strings.HasPrefix(p.env, mark) || strings.Contains(p.env, "\x00"+mark) || strings.Contains(p.cmdline, c.root) {
			out = append(out, p)
		}
	}
	return out
}

// listening is the set of "socket:[inode]" links of listening TCP sockets.
func listening() map[string]bool {
	out := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, _ := os.ReadFile(f)
		for _, line := range strings.Split(string(data), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) > 9 && fs[3] == "0A" {
				out["socket:["+fs[9]+"]"] = true
			}
		}
	}
	return out
}

type shmState struct {
	sysv  map[string]int // shmid → attached
	files map[string]bool
}

func shmNow() shmState {
	s := shmState{sysv: map[string]int{}, files: map[string]bool{}}
	data, _ := os.ReadFile("/proc/sysvipc/shm")
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 6 {
			n, _ := strconv.Atoi(f[6])
			s.sysv[f[1]] = n
		}
	}
	m, _ := filepath.Glob("/dev/shm/PostgreSQL.*")
	for _, f := range m {
		s.files[f] = true
	}
	return s
}

// mappedShm lists the PostgreSQL /dev/shm files some process maps (a
// live server's, of whoever).
func mappedShm() map[string]bool {
	out := map[string]bool{}
	maps, _ := filepath.Glob("/proc/[0-9]*/maps")
	for _, f := range maps {
		data, _ := os.ReadFile(f)
		for _, line := range strings.Split(string(data), "\n") {
			if i := strings.Index(line, "/dev/shm/PostgreSQL."); i >= 0 {
				out[strings.Fields(line[i:])[0]] = true
			}
		}
	}
	return out
}
