package mem

import (
	"bytes"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/mm"
)

// maxArgs caps how much of a command line or environment is read; the
// kernel's own limit on both together is a few MiB.
const maxArgs = 1 << 20

// ArgsEnv is a process's command line and environment, as the kernel keeps
// them at the top of its stack (mm_arg_start..end, mm_env_start..end).
type ArgsEnv struct {
	cmdline, env *Chunk
}

// WantArgsEnv asks x for the argument and environment areas of m.
func WantArgsEnv(x *Extractor, m *mm.MmEntry) ArgsEnv {
	want := func(start, end uint64) *Chunk {
		if end <= start {
			return &Chunk{}
		}
		return x.Want(start, int(min(end-start, maxArgs)))
	}
	return ArgsEnv{
		cmdline: want(m.GetMmArgStart(), m.GetMmArgEnd()),
		env:     want(m.GetMmEnvStart(), m.GetMmEnvEnd()),
	}
}

// Argv returns the arguments; complete is false when part of the area was
// not in the dump.
func (a ArgsEnv) Argv() (argv []string, complete bool) {
	return split(a.cmdline), a.cmdline.Complete()
}

// Environ returns the NAME=value strings.
func (a ArgsEnv) Environ() (env []string, complete bool) {
	return split(a.env), a.env.Complete()
}

// String is one string of the argument or environment area and where it
// starts in the process's memory.
type String struct {
	Addr  uint64
	Value string
}

// ArgvAt returns the arguments with their addresses.
func (a ArgsEnv) ArgvAt() []String { return splitAt(a.cmdline) }

// EnvironAt returns the environment strings with their addresses.
func (a ArgsEnv) EnvironAt() []String { return splitAt(a.env) }

// splitAt cuts a NUL-separated area into non-empty strings, keeping each
// one's address: empty strings (an argument "") still take their NUL.
func splitAt(c *Chunk) []String {
	out := []String{}
	if c == nil {
		return out
	}
	data := c.Prefix()
	for off := 0; off < len(data); {
		end := bytes.IndexByte(data[off:], 0)
		if end < 0 {
			end = len(data) - off
		}
		if end > 0 {
			out = append(out, String{Addr: c.Addr + uint64(off), Value: string(data[off : off+end])})
		}
		off += end + 1
	}
	return out
}

// split cuts a NUL-separated area into strings.
func split(c *Chunk) []string {
	out := []string{}
	if c == nil {
		return out
	}
	for _, s := range bytes.Split(bytes.TrimRight(c.Prefix(), "\x00"), []byte{0}) {
		if len(s) > 0 {
			out = append(out, string(s))
		}
	}
	return out
}
