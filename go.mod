module github.com/seamtest/seam

go 1.26.8

require (
	github.com/expr-lang/expr v1.17.8
	github.com/itchyny/gojq v0.12.20
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3
	go.yaml.in/yaml/v4 v4.0.0
	golang.org/x/sys v0.49.0
	golang.org/x/term v0.47.0
)

require (
	github.com/itchyny/timefmt-go v0.1.9 // indirect
	golang.org/x/text v0.14.0 // indirect
)
