//go:build ignore

// The label oracle: real HashiCorp memberlist v0.3.1 (the first release with cluster labels,
// commit 923f1b2), used to capture labelled wire bytes for test/vectors/label.json and to run
// a labelled peer against our agent. It is not part of the test suite (CI has no Go toolchain
// and Debian ships memberlist 0.2.x only); test/vectors/README.md says how to rebuild it.
//
//	go run oracle.go capture > memberlist-0.3.1.json          two memberlists in one process, recorded
//	go run oracle.go peer NAME BIND:PORT LABEL KEY64 JOIN   a labelled node; prints members as JSON
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// Fixed key of memberlist's own security tests (security_test.go k1).
var testKey = []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}

type vector struct {
	Name      string `json:"name"`
	Transport string `json:"transport"`
	Label     string `json:"label"`
	Key       string `json:"key,omitempty"`
	FirstType int    `json:"firstType"`
	Hex       string `json:"hex"`
}

// recorder wraps a NetTransport and records every inbound packet and the bytes read on every
// stream: what arrives on the wire, label header included (memberlist adds the header in a
// wrapper above the transport, so outbound bytes here would still be unlabelled).
type recorder struct {
	*memberlist.NetTransport
	mu      sync.Mutex
	packets [][]byte
	streams []*recConn
	pch     chan *memberlist.Packet
	sch     chan net.Conn
}

type recConn struct {
	net.Conn
	mu      sync.Mutex
	read    bytes.Buffer
	inbound bool
}

func (c *recConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.mu.Lock()
	c.read.Write(b[:n])
	c.mu.Unlock()
	return n, err
}

func newRecorder(port int) *recorder {
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{BindAddrs: []string{"127.0.0.1"}, BindPort: port})
	if err != nil {
		panic(err)
	}
	r := &recorder{NetTransport: nt, pch: make(chan *memberlist.Packet, 1024), sch: make(chan net.Conn, 64)}
	go func() {
		for p := range nt.PacketCh() {
			r.mu.Lock()
			r.packets = append(r.packets, append([]byte(nil), p.Buf...))
			r.mu.Unlock()
			r.pch <- p
		}
	}()
	go func() {
		for c := range nt.StreamCh() {
			rc := &recConn{Conn: c, inbound: true}
			r.mu.Lock()
			r.streams = append(r.streams, rc)
			r.mu.Unlock()
			r.sch <- rc
		}
	}()
	return r
}

func (r *recorder) PacketCh() <-chan *memberlist.Packet { return r.pch }
func (r *recorder) StreamCh() <-chan net.Conn           { return r.sch }
func (r *recorder) DialTimeout(addr string, t time.Duration) (net.Conn, error) {
	c, err := r.NetTransport.DialTimeout(addr, t)
	if err != nil {
		return nil, err
	}
	rc := &recConn{Conn: c}
	r.mu.Lock()
	r.streams = append(r.streams, rc)
	r.mu.Unlock()
	return rc, nil
}

// DialAddressTimeout is what memberlist calls (NetTransport is node-aware): record it too.
func (r *recorder) DialAddressTimeout(a memberlist.Address, t time.Duration) (net.Conn, error) {
	return r.DialTimeout(a.Addr, t)
}

func node(name string, port int, label string, key []byte, t memberlist.Transport) *memberlist.Memberlist {
	c := memberlist.DefaultLocalConfig()
	c.Name = name
	c.BindAddr = "127.0.0.1"
	c.BindPort = port
	c.AdvertisePort = port
	c.Label = label
	c.Transport = t
	c.LogOutput = io.Discard
	if key != nil {
		c.SecretKey = key
	}
	m, err := memberlist.Create(c)
	if err != nil {
		panic(err)
	}
	return m
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func capture() {
	var out []vector
	for _, tc := range []struct {
		name  string
		label string
		key   []byte
	}{{"plain", "blah", nil}, {"encrypted", "blah", testKey}} {
		pa, pb := freePort(), freePort()
		ra, rb := newRecorder(pa), newRecorder(pb)
		a := node("a", pa, tc.label, tc.key, ra)
		b := node("b", pb, tc.label, tc.key, rb)
		if _, err := b.Join([]string{fmt.Sprintf("127.0.0.1:%d", pa)}); err != nil {
			panic(err)
		}
		time.Sleep(1500 * time.Millisecond) // a few probes and gossip rounds
		keyText := ""
		if tc.key != nil {
			keyText = base64.StdEncoding.EncodeToString(tc.key)
		}
		seen := map[string]bool{}
		add := func(kind string, transport string, buf []byte) {
			if len(buf) == 0 || seen[kind] {
				return
			}
			seen[kind] = true
			inner, _, _ := memberlist.RemoveLabelHeaderFromPacket(buf)
			first := -1
			if len(inner) > 0 {
				first = int(inner[0])
			}
			out = append(out, vector{tc.name + " " + kind, transport, tc.label, keyText, first, hex.EncodeToString(buf)})
		}
		for _, r := range []*recorder{ra, rb} {
			r.mu.Lock()
			for _, p := range r.packets {
				add("udp packet", "udp", p)
			}
			for _, s := range r.streams {
				s.mu.Lock()
				if s.inbound {
					add("tcp request (dialer to listener, with the label header)", "tcp", s.read.Bytes())
				} else {
					add("tcp reply (listener to dialer, no label header)", "tcp", s.read.Bytes())
				}
				s.mu.Unlock()
			}
			r.mu.Unlock()
		}
		a.Shutdown()
		b.Shutdown()
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		panic(err)
	}
}

func peer(args []string) {
	name, bind, label, key64, join := args[0], args[1], args[2], args[3], args[4]
	host, portText, _ := net.SplitHostPort(bind)
	port, _ := strconv.Atoi(portText)
	c := memberlist.DefaultLocalConfig()
	c.Name = name
	c.BindAddr = host
	c.BindPort = port
	c.AdvertiseAddr = host
	c.AdvertisePort = port
	c.Label = label
	c.LogOutput = os.Stderr
	// Speak Serf's delegate protocol range (2..5), so a Serf-layer peer (ours) accepts the merge.
	c.DelegateProtocolMin, c.DelegateProtocolMax, c.DelegateProtocolVersion = 2, 5, 4
	if key64 != "" {
		k, err := base64.StdEncoding.DecodeString(key64)
		if err != nil {
			panic(err)
		}
		c.SecretKey = k
	}
	m, err := memberlist.Create(c)
	if err != nil {
		panic(err)
	}
	if join != "" {
		if _, err := m.Join([]string{join}); err != nil {
			fmt.Fprintln(os.Stderr, "join failed:", err)
		}
	}
	for {
		var names []string
		for _, n := range m.Members() {
			names = append(names, n.Name)
		}
		b, _ := json.Marshal(names)
		fmt.Println(string(b))
		time.Sleep(500 * time.Millisecond)
	}
}

func main() {
	if len(os.Args) >= 2 && os.Args[1] == "capture" {
		capture()
		return
	}
	if len(os.Args) == 7 && os.Args[1] == "peer" {
		peer(os.Args[2:])
		return
	}
	fmt.Fprintln(os.Stderr, "usage: oracle.go capture | peer NAME BIND:PORT LABEL KEY64 JOIN")
	os.Exit(2)
}
