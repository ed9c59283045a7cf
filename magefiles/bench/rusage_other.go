//go:build !unix

package bench

import "os"

// maxRSS returns 0: peak memory is read from rusage, which only unix systems report.
func maxRSS(*os.ProcessState) int64 { return 0 }
