module github.com/pactidy/pactidy

go 1.23

require (
	github.com/Jguer/go-alpm/v2 v2.3.1
	github.com/spf13/cobra v1.10.1
)

require (
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/spf13/pflag v1.0.9 // indirect
)
