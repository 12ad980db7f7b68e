//go:build !unix

package h1client

import "net"

// stillOpen cannot peek without waiting here; a closed connection fails its
// next request instead.
func stillOpen(net.Conn) bool { return true }
