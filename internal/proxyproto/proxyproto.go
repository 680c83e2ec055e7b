package proxyproto

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
)

// v1 and v2 header limits and signatures.
const (
	v1MaxLen = 107 // "PROXY TCP6 " + two addresses, two ports, spaces and CRLF
	v2HdrLen = 16
)

var (
	v1Prefix = []byte("PROXY ")
	v2Sig    = []byte("\r\n\r\n\x00\r\nQUIT\n")
)

// ErrHeader is the error of a malformed PROXY header from a trusted peer;
// the connection fails with it.
var ErrHeader = errors.New("proxyproto: malformed PROXY protocol header")

// Listener accepts connections of an underlying listener whose PROXY
// headers, from trusted peers, set their RemoteAddr.
type Listener struct {
	net.Listener
	trusted func(netip.Addr) bool
}

// NewListener wraps ln. trusted reports whether a peer may send a header.
func NewListener(ln net.Listener, trusted func(netip.Addr) bool) *Listener {
	return &Listener{Listener: ln, trusted: trusted}
}

// Accept returns the next connection. The header is read by the
// connection's first Read, under the read deadline its reader sets, so
// that a slow peer never holds up Accept.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil || !l.trusted(ap.Addr().Unmap()) {
		return c, nil
	}
	return &Conn{Conn: c}, nil
}

// Conn is a connection from a trusted peer that may start with a header.
type Conn struct {
	net.Conn
	once   sync.Once
	br     *bufio.Reader
	remote net.Addr
	err    error
}

// Read reads the header first, then the connection's bytes.
func (c *Conn) Read(b []byte) (int, error) {
	c.once.Do(c.readHeader)
	if c.err != nil {
		return 0, c.err
	}
	if c.br != nil && c.br.Buffered() > 0 {
		return c.br.Read(b)
	}
	return c.Conn.Read(b)
}

// NetConn returns the peer's connection, as tls.Conn.NetConn does.
func (c *Conn) NetConn() net.Conn { return c.Conn }

// Buffered returns how many bytes read past the header are still to be
// returned (1 after a failed header, so that a reader reads at once and
// sees the error). While it is not 0, reading NetConn would skip them.
// Like Read, it must not run concurrently with Read.
func (c *Conn) Buffered() int {
	switch {
	case c.err != nil:
		return 1
	case c.br != nil:
		return c.br.Buffered()
	}
	return 0
}

// RemoteAddr returns the client's address from the header, once read, and
// the peer's otherwise.
func (c *Conn) RemoteAddr() net.Addr {
	if c.remote != nil {
		return c.remote
	}
	return c.Conn.RemoteAddr()
}

// readHeader reads and applies a header if the connection starts with one.
func (c *Conn) readHeader() {
	c.br = bufio.NewReaderSize(c.Conn, 512)
	addr, err := ReadHeader(c.br)
	if err != nil {
		c.err = err
		return
	}
	if addr.IsValid() {
		c.remote = net.TCPAddrFromAddrPort(addr)
	}
}

// ReadHeader reads a PROXY header from br if its bytes start with one and
// returns the source address it gives; the zero AddrPort means none (no
// header, LOCAL, or an unsupported family). Bytes after the header stay in
// br. It fails with ErrHeader (wrapped) for a malformed header.
func ReadHeader(br *bufio.Reader) (netip.AddrPort, error) {
	first, err := br.Peek(1)
	if err != nil {
		return netip.AddrPort{}, nil // the reader will see the same error
	}
	switch first[0] {
	case 'P':
		if p, err := br.Peek(len(v1Prefix)); err == nil && bytes.Equal(p, v1Prefix) {
			return readV1(br)
		}
	case '\r':
		if p, err := br.Peek(len(v2Sig)); err == nil && bytes.Equal(p, v2Sig) {
			return readV2(br)
		}
	}
	return netip.AddrPort{}, nil
}

// readV1 reads "PROXY TCP4|TCP6|UNKNOWN src dst sport dport\r\n".
func readV1(br *bufio.Reader) (netip.AddrPort, error) {
	var line []byte
	for len(line) < v1MaxLen {
		b, err := br.ReadByte()
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("%w: %w", ErrHeader, err)
		}
		line = append(line, b)
		if b == '\n' {
			break
		}
	}
	s, ok := strings.CutSuffix(string(line), "\r\n")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("%w: v1 line too long or not ended by CRLF", ErrHeader)
	}
	f := strings.Split(s, " ")
	if len(f) >= 2 && f[1] == "UNKNOWN" {
		return netip.AddrPort{}, nil
	}
	if len(f) != 6 || (f[1] != "TCP4" && f[1] != "TCP6") {
		return netip.AddrPort{}, fmt.Errorf("%w: v1 %q", ErrHeader, s)
	}
	src, err := netip.ParseAddr(f[2])
	if err != nil || src.Zone() != "" || src.Is4() != (f[1] == "TCP4") {
		return netip.AddrPort{}, fmt.Errorf("%w: v1 source %q", ErrHeader, f[2])
	}
	if _, err := netip.ParseAddr(f[3]); err != nil {
		return netip.AddrPort{}, fmt.Errorf("%w: v1 destination %q", ErrHeader, f[3])
	}
	port, err := strconv.ParseUint(f[4], 10, 16)
	if err != nil || (len(f[4]) > 1 && f[4][0] == '0') {
		return netip.AddrPort{}, fmt.Errorf("%w: v1 source port %q", ErrHeader, f[4])
	}
	if _, err := strconv.ParseUint(f[5], 10, 16); err != nil {
		return netip.AddrPort{}, fmt.Errorf("%w: v1 destination port %q", ErrHeader, f[5])
	}
	return netip.AddrPortFrom(src, uint16(port)), nil
}

// readV2 reads a binary header: signature, version and command, family
// and protocol, length, addresses (and TLVs, skipped).
func readV2(br *bufio.Reader) (netip.AddrPort, error) {
	var hdr [v2HdrLen]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return netip.AddrPort{}, fmt.Errorf("%w: %w", ErrHeader, err)
	}
	verCmd, famProto := hdr[12], hdr[13]
	n := int(binary.BigEndian.Uint16(hdr[14:16]))
	if verCmd>>4 != 2 || verCmd&0xf > 1 {
		return netip.AddrPort{}, fmt.Errorf("%w: v2 version/command %#x", ErrHeader, verCmd)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(br, body); err != nil {
		return netip.AddrPort{}, fmt.Errorf("%w: %w", ErrHeader, err)
	}
	if verCmd&0xf == 0 { // LOCAL: the balancer's own connection
		return netip.AddrPort{}, nil
	}
	switch famProto {
	case 0x11: // TCP over IPv4
		if n < 12 {
			return netip.AddrPort{}, fmt.Errorf("%w: v2 IPv4 block of %d bytes", ErrHeader, n)
		}
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(body[0:4])), binary.BigEndian.Uint16(body[8:10])), nil
	case 0x21: // TCP over IPv6
		if n < 36 {
			return netip.AddrPort{}, fmt.Errorf("%w: v2 IPv6 block of %d bytes", ErrHeader, n)
		}
		return netip.AddrPortFrom(netip.AddrFrom16([16]byte(body[0:16])).Unmap(), binary.BigEndian.Uint16(body[32:34])), nil
	}
	return netip.AddrPort{}, nil // UNSPEC, UDP, UNIX: keep the peer's address
}
