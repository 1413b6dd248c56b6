// Package runas picks the unprivileged user that servers which refuse root
// (PostgreSQL) run as when seam itself runs as root, as CI often does.
package runas

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
)

// Fallback is the system user seam creates when the machine has none of
// the usual ones.
const Fallback = "seam-server"

// User is who a server runs as.
type User struct {
	Name string
	UID  int
	GID  int
}

// Credential is nil when no change of user is needed.
func (u *User) Credential() *syscall.Credential {
	if u == nil {
		return nil
	}
	return &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID)}
}

// Chown hands path to u (a no-op when u is nil).
func (u *User) Chown(path string) error {
	if u == nil {
		return nil
	}
	return os.Lchown(path, u.UID, u.GID)
}

// Pick returns nil when seam is not root; otherwise the first existing
// user of preferred, or Fallback, created when missing.
func Pick(preferred ...string) (*User, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range append(preferred, Fallback) {
		if u, err := lookup(name); err == nil {
			return u, nil
		}
	}
	out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", Fallback).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("seam runs as root and this server refuses root; creating the user %s failed: %v: %s (create an unprivileged user named %s)", Fallback, err, out, preferred[0])
	}
	return lookup(Fallback)
}

func lookup(name string) (*User, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, err
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return nil, err
	}
	return &User{Name: name, UID: uid, GID: gid}, nil
}
