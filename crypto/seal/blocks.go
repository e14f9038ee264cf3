package seal

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
)

// blockSize is the unit the sealing and opening pipelines move data in. It
// is a multiple of age's 64 KiB chunk, so a block of ciphertext read at a
// block boundary decrypts without touching its neighbours, and large enough
// that handing a block between goroutines costs nothing next to hashing it.
const blockSize = 1 << 20

// poolBlocks is how many blocks each pool holds. It bounds memory (two pools
// of 8 MiB for sealing) and lets a slow stage fall that many blocks behind
// before it stalls the others.
const poolBlocks = 8

// block is a buffer shared by the stages of a pipeline. Each stage that
// receives it calls release once; the last one returns it to its pool.
type block struct {
	buf  []byte
	n    int
	refs atomic.Int32
	pool *pool
}

func (b *block) bytes() []byte { return b.buf[:b.n] }

func (b *block) release() {
	if b.refs.Add(-1) == 0 {
		b.n = 0
		b.pool.ch <- b
	}
}

// pool is a fixed set of blocks; get blocks while all are in use, which is
// what bounds the memory of a pipeline.
type pool struct{ ch chan *block }

func newPool(blocks, size int) *pool {
	p := &pool{ch: make(chan *block, blocks)}
	for range blocks {
		p.ch <- &block{buf: make([]byte, size), pool: p}
	}
	return p
}

func (p *pool) get(ctx context.Context, refs int32) (*block, error) {
	select {
	case b := <-p.ch:
		b.refs.Store(refs)
		return b, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// send hands b to the stage reading ch unless the pipeline was cancelled.
func send(ctx context.Context, ch chan<- *block, b *block) error {
	select {
	case ch <- b:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// group runs the stages of a pipeline and keeps the first error; an error
// cancels the others through the context.
type group struct {
	wg     sync.WaitGroup
	cancel context.CancelFunc
	once   sync.Once
	err    error
}

func newGroup(ctx context.Context) (*group, context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	return &group{cancel: cancel}, ctx
}

func (g *group) Go(f func() error) {
	g.wg.Go(func() {
		if err := f(); err != nil {
			g.once.Do(func() {
				g.err = err
				g.cancel()
			})
		}
	})
}

func (g *group) Wait() error {
	g.wg.Wait()
	g.cancel()
	return g.err
}

// blockReader reads the blocks arriving on ch as one stream, releasing each
// once it has been read past. It lets a hook such as [Options].Describe
// consume the plaintext as an io.Reader while the pipeline owns the buffers.
// Seeking forward (io.SeekCurrent) skips data without copying it, which
// archive/tar uses to step over the entries it does not need.
type blockReader struct {
	ctx context.Context
	ch  <-chan *block
	cur *block
	off int
	pos int64
}

func (r *blockReader) next() error {
	if r.cur != nil {
		r.cur.release()
		r.cur = nil
	}
	select {
	case b, ok := <-r.ch:
		if !ok {
			return io.EOF
		}
		r.cur, r.off = b, 0
		return nil
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
}

func (r *blockReader) Read(p []byte) (int, error) {
	for r.cur == nil || r.off == r.cur.n {
		if err := r.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.cur.buf[r.off:r.cur.n])
	r.off += n
	r.pos += int64(n)
	return n, nil
}

// Seek supports only skipping forward from the current position, and asking
// for the current position. Skipping past the end stops at the end.
func (r *blockReader) Seek(offset int64, whence int) (int64, error) {
	if whence != io.SeekCurrent || offset < 0 {
		return r.pos, errSeek
	}
	for offset > 0 {
		if r.cur == nil || r.off == r.cur.n {
			if err := r.next(); err == io.EOF {
				return r.pos, nil
			} else if err != nil {
				return r.pos, err
			}
			continue
		}
		n := min(offset, int64(r.cur.n-r.off))
		r.off += int(n)
		r.pos += n
		offset -= n
	}
	return r.pos, nil
}

// drain releases everything still arriving, for when the hook returned
// before reading to the end.
func (r *blockReader) drain() {
	if r.cur != nil {
		r.cur.release()
		r.cur = nil
	}
	for b := range r.ch {
		b.release()
	}
}

type seekError struct{}

func (seekError) Error() string { return "seal: plaintext stream can only skip forward" }

var errSeek error = seekError{}
