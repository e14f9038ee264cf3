package archive

import (
	"bufio"
	"bytes"
	"io"
	"regexp"
	"strings"
)

// DumpLog summarises CRIU's dump.log: which CRIU, on which host, and how
// the dump went. The log itself is streamed, never held.
type DumpLog struct {
	CRIUVersion string `json:"criu_version"`
	Host        string `json:"host"`
	Kernel      string `json:"kernel"`
	Arch        string `json:"arch"`
	Errors      int    `json:"errors"`
	Warnings    int    `json:"warnings"`
	// FirstError is the first "Error" line: successful dumps often have
	// harmless ones (an rlimit CRIU may not raise), failed ones say why.
	FirstError string `json:"first_error,omitempty"`
	LastLine   string `json:"last_line"`
	Succeeded  bool   `json:"succeeded"`
}

var (
	logVersion = regexp.MustCompile(`^Version: (\S+)`)
	logRunning = regexp.MustCompile(`^Running on (\S+) (\S+) (\S+) .* (\S+)$`)
)

// maxLogLine bounds one line of dump.log; longer lines are cut.
const maxLogLine = 4096

func readDumpLog(r io.Reader) (*DumpLog, error) {
	d := &DumpLog{}
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := readLine(br)
		if len(line) > 0 {
			d.add(stripTime(line))
		}
		if err == io.EOF {
			d.Succeeded = strings.Contains(d.LastLine, "Dumping finished successfully")
			return d, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func (d *DumpLog) add(line string) {
	switch {
	case strings.HasPrefix(line, "Error"):
		d.Errors++
		if d.FirstError == "" {
			d.FirstError = line
		}
	case strings.HasPrefix(line, "Warn"):
		d.Warnings++
	}
	if d.CRIUVersion == "" && strings.HasPrefix(line, "Version: ") {
		if m := logVersion.FindStringSubmatch(line); m != nil {
			d.CRIUVersion = m[1]
		}
	}
	if d.Host == "" && strings.HasPrefix(line, "Running on ") {
		if m := logRunning.FindStringSubmatch(line); m != nil {
			d.Host, d.Kernel, d.Arch = m[1], m[3], m[4]
		}
	}
	if strings.TrimSpace(line) != "" {
		d.LastLine = line
	}
}

// stripTime removes the "(  12.345678) " that starts CRIU's log lines,
// by hand: a log of 10,000 processes has hundreds of thousands of lines,
// and a regexp per line was most of the cost of reading it.
func stripTime(line string) string {
	if !strings.HasPrefix(line, "(") {
		return line
	}
	space := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }
	i := 1
	for i < len(line) && space(line[i]) {
		i++
	}
	j := i
	for j < len(line) && ('0' <= line[j] && line[j] <= '9' || line[j] == '.') {
		j++
	}
	if j == i || j == len(line) || line[j] != ')' {
		return line
	}
	for j++; j < len(line) && space(line[j]); j++ {
	}
	return line[j:]
}

// readLine reads one line without its newline, cut at maxLogLine bytes.
func readLine(br *bufio.Reader) (string, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line) < maxLogLine {
			line = append(line, chunk[:min(len(chunk), maxLogLine-len(line))]...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return string(bytes.TrimRight(line, "\r\n")), err
	}
}
