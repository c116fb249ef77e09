package status_test

import (
	"fmt"

	"github.com/tlsticket/tlsticket/status"
)

func ExampleDecide() {
	// A ticket opened by a decrypt-only key, with no callback installed.
	s := status.SuccessRenew
	o, err := status.Decide(s, status.Default(s))
	fmt.Println(o, o.Resumed(), o.Renew(), err)

	// A callback that insists on using a ticket that did not open.
	o, err = status.Decide(status.NoDecrypt, status.Use)
	fmt.Println(o, err)
	// Output:
	// use+renew true true <nil>
	// abort status: decrypt callback chose to use a ticket that did not open
}
