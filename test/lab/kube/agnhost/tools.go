//go:build tools

// Package tools names the program the lab builds, so `go mod tidy` keeps its dependencies.
package tools

import (
	_ "k8s.io/kubernetes/test/images/agnhost"
)
