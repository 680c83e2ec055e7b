package connsplit

import (
	"net"
	"testing"
)

// TestReplayConnReleasesSniff replays the sniffed bytes across reads: it
// says how many are left until they are all read, and then drops the
// sniff buffer and leads to the connection under it.
func TestReplayConnReleasesSniff(t *testing.T) {
	under, peer := net.Pipe()
	defer under.Close()
	defer peer.Close()
	c := &replayConn{Conn: under, pending: []byte("GET / HTTP/1.1\r\n")}
	p := make([]byte, 10)
	for _, want := range []int{6, 0} {
		if _, err := c.Read(p); err != nil {
			t.Fatal(err)
		}
		if got := c.Buffered(); got != want {
			t.Fatalf("Buffered() = %d, want %d", got, want)
		}
	}
	if c.pending != nil {
		t.Error("the sniff buffer is still referenced once replayed")
	}
	if c.NetConn() != under {
		t.Error("NetConn does not return the sniffed connection")
	}
}
