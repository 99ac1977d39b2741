// The reference side of `npm run bench -- embedded`: N hashicorp/memberlist instances embedded in
// one Go process, on real loopback sockets (UDP + TCP, one port pair each, picked by the kernel),
// with memberlist's DefaultLANConfig. The bench builds it from source with Debian's golang-go and
// golang-github-hashicorp-memberlist-dev in GOPATH mode (no module download) and runs it as a
// child; it measures the process from outside (/proc/PID/stat and /proc/PID/status), the same way
// it measures the Node.js side (bench/embedded/node.mjs).
//
// Protocol, one JSON object per line on stdout:
//   {"event":"listening","nodes":N,"ms":T}  every instance created (T: ms since the program began)
//   {"event":"joined","ms":T,"failed":F,"attempts":A}
//                                           every join returned (F of them still failed after retries)
//   {"event":"converged","ms":T}            every instance sees all N members alive
//   {"event":"timeout","ms":T,"least":K}    -converge-timeout passed first (K: the fewest alive any sees)
// then it idles until killed (or stdin closes). Join modes (-join):
//   seed        all at once through instance 0, no retry: what a naive embedding does
//   seed-serial through instance 0, one join after another (each waits for the previous)
//   seed-retry  all at once through instance 0, a failed join retried after 1 s (up to 10 times)
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"log"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

var began = time.Now()

func emit(fields map[string]interface{}) {
	fields["ms"] = float64(time.Since(began).Microseconds()) / 1000
	b, _ := json.Marshal(fields)
	fmt.Println(string(b))
}

func main() {
	nodes := flag.Int("nodes", 50, "instances")
	join := flag.String("join", "seed-serial", "seed | seed-serial | seed-retry")
	timeout := flag.Duration("converge-timeout", 10*time.Minute, "give up on convergence after this long")
	flag.Parse()

	quiet := log.New(ioutil.Discard, "", 0)
	list := make([]*memberlist.Memberlist, *nodes)
	for i := range list {
		c := memberlist.DefaultLANConfig()
		c.Name = "node-" + strconv.Itoa(i)
		c.BindAddr = "127.0.0.1"
		c.BindPort = 0
		c.Logger = quiet
		m, err := memberlist.Create(c)
		if err != nil {
			fmt.Fprintf(os.Stderr, "instance %d: %v\n", i, err)
			os.Exit(1)
		}
		list[i] = m
	}
	emit(map[string]interface{}{"event": "listening", "nodes": *nodes})
	if *nodes == 0 {
		idle()
		return
	}

	seed := list[0].LocalNode().Address()
	var failed, attempts int64
	joinOne := func(m *memberlist.Memberlist, retries int) {
		for try := 0; ; try++ {
			atomic.AddInt64(&attempts, 1)
			if _, err := m.Join([]string{seed}); err == nil {
				return
			}
			if try >= retries {
				atomic.AddInt64(&failed, 1)
				return
			}
			time.Sleep(time.Second)
		}
	}
	switch *join {
	case "seed-serial":
		for i, m := range list[1:] {
			joinOne(m, 0)
			if (i+1)%50 == 0 {
				fmt.Fprintf(os.Stderr, "joined %d after %v\n", i+1, time.Since(began))
			}
		}
	case "seed", "seed-retry":
		retries := 0
		if *join == "seed-retry" {
			retries = 10
		}
		var wg sync.WaitGroup
		for _, m := range list[1:] {
			wg.Add(1)
			go func(m *memberlist.Memberlist) {
				defer wg.Done()
				joinOne(m, retries)
			}(m)
		}
		wg.Wait()
	default:
		fmt.Fprintf(os.Stderr, "-join: expected seed, seed-serial or seed-retry, got %q\n", *join)
		os.Exit(2)
	}
	emit(map[string]interface{}{"event": "joined", "failed": failed, "attempts": attempts})

	deadline := time.Now().Add(*timeout)
	for {
		least := *nodes
		for _, m := range list {
			alive := 0
			for _, n := range m.Members() {
				if n.State == memberlist.StateAlive {
					alive++
				}
			}
			if alive < least {
				least = alive
			}
		}
		if least == *nodes {
			emit(map[string]interface{}{"event": "converged"})
			break
		}
		if time.Now().After(deadline) {
			emit(map[string]interface{}{"event": "timeout", "least": least})
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	idle()
}

// idle keeps the instances running until stdin closes (the bench ends the run by closing it, or
// by a signal).
func idle() {
	io.Copy(ioutil.Discard, os.Stdin)
}
