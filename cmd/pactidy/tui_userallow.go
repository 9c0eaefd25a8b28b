package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pactidy/pactidy/internal/allowlist"
	"github.com/pactidy/pactidy/internal/quote"
	"github.com/pactidy/pactidy/scan"
	"github.com/pactidy/pactidy/tui"
)

// userAllowlist edits a user's own allowlist (~/.config/pactidy/allowlist)
// for the terminal UI's keep-forever on user data. The file and its
// directories are the user's: this process edits them only when it runs
// as that user; as root it runs `pactidy allow add|remove --file FILE` as
// the user (ownerCommand), so nothing in the home is created, replaced or
// followed through a symlink with root's rights, and the file keeps its
// owner.
type userAllowlist struct {
	app *App
}

var _ tui.UserAllowlist = (*userAllowlist)(nil)

func (u *userAllowlist) Add(ctx context.Context, user string, e allowlist.Entry) (string, error) {
	return u.edit(ctx, user, e, "add", allowlist.Add)
}

func (u *userAllowlist) Remove(ctx context.Context, user string, e allowlist.Entry) (string, error) {
	return u.edit(ctx, user, e, "remove", allowlist.Remove)
}

func (u *userAllowlist) edit(ctx context.Context, user string, e allowlist.Entry, op string, direct func(string, allowlist.Entry) error) (string, error) {
	cfg, err := u.app.configNoWarn()
	if err != nil {
		return "", err
	}
	users, err := scan.Users(cfg.RootDir)
	if err != nil {
		return "", err
	}
	h, ok := scan.UserByName(users, user)
	if !ok {
		return "", fmt.Errorf("%s: no such user in %s/etc/passwd", quote.Quote(user), strings.TrimSuffix(cfg.RootDir, "/"))
	}
	file := filepath.Join(cfg.RootDir, h.Dir, allowlist.UserFile)
	switch uid := os.Geteuid(); {
	case uid == h.UID:
		return file, direct(file, e)
	case uid != 0:
		return file, fmt.Errorf("the allowlist of %s is edited by %s only", quote.Quote(user), quote.Quote(user))
	}
	cmd, err := u.app.ownerCommand(ctx, h, "allow", op, "--file", file, "--", e.String())
	if err != nil {
		return file, err
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(out.String()), "pactidy: "))
		if msg == "" {
			msg = err.Error()
		}
		return file, fmt.Errorf("as %s: %s", user, msg)
	}
	return file, nil
}
