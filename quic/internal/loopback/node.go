package loopback

import (
	"crypto/tls"
	"crypto/x509"

	"github.com/quic-go/quic-go"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/engine/tlsadapter"
	"github.com/tlsticket/tlsticket/internal/testcert"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/seal"
)

// ServerName is the name the loopback certificates are issued for.
const ServerName = "quic.tlsticket.test"

// Identity is a certificate for ServerName and the pool that trusts it.
// Servers of one fleet share one Identity.
type Identity struct {
	Cert  tls.Certificate
	Roots *x509.CertPool
}

// NewIdentity returns the test certificate, which is for ServerName among
// other names, and the pool of its CA.
func NewIdentity() *Identity {
	return &Identity{Cert: testcert.Server(), Roots: testcert.Roots()}
}

// ClientTLS returns a client configuration that trusts id and keeps its
// tickets in cache.
func (id *Identity) ClientTLS(cache tls.ClientSessionCache) *tls.Config {
	return &tls.Config{
		RootCAs:            id.Roots,
		ServerName:         ServerName,
		NextProtos:         []string{ALPN},
		ClientSessionCache: cache,
	}
}

// NodeConfig configures one server of a fleet.
type NodeConfig struct {
	Identity *Identity
	// Keys is the fleet's key ring. Required.
	Keys *seal.Keyring
	// ReplayStore is the engine's replay store; nil for none.
	ReplayStore resumption.ReplayStore
	// MaxEarlyData is the engine's (TLS over TCP) max_early_data_size.
	MaxEarlyData uint32
	// Allow0RTT is quic.Config.Allow0RTT.
	Allow0RTT bool
	// Quic, if not nil, is the base quic-go configuration (Allow0RTT is
	// set from the field above).
	Quic *quic.Config
	// Adjust, if not nil, is called on the adapter before it is installed.
	Adjust func(*tlsadapter.Adapter)
}

// Node is one server of a fleet: a quic-go [Server] whose tickets are
// sealed and decided by a tlsticket engine through the crypto/tls adapter.
type Node struct {
	*Server
	Engine  *engine.Engine
	Adapter *tlsadapter.Adapter
}

// StartNode starts a server configured by cfg.
func StartNode(cfg NodeConfig) (*Node, error) {
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cfg.Identity.Cert}, NextProtos: []string{ALPN}}
	binding, err := tlsadapter.Binding(tlsConf)
	if err != nil {
		return nil, err
	}
	e, err := engine.New(&engine.Config{
		Keys:         cfg.Keys,
		Binding:      binding,
		ReplayStore:  cfg.ReplayStore,
		MaxEarlyData: cfg.MaxEarlyData,
	})
	if err != nil {
		return nil, err
	}
	a := tlsadapter.New(e)
	if cfg.Adjust != nil {
		cfg.Adjust(a)
	}
	a.Install(tlsConf)
	qc := &quic.Config{}
	if cfg.Quic != nil {
		qc = cfg.Quic.Clone()
	}
	qc.Allow0RTT = cfg.Allow0RTT
	s, err := Listen(tlsConf, qc)
	if err != nil {
		return nil, err
	}
	return &Node{Server: s, Engine: e, Adapter: a}, nil
}
