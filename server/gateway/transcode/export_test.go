package transcode

// WithoutFastPath turns off tc's fast path (see fastplan.go), for
// benchmarks that compare it with the dynamicpb path in one run.
func WithoutFastPath(tc *Transcoder) *Transcoder {
	for _, c := range tc.bindings {
		c.reqPlan, c.respPlan = nil, nil
	}
	return tc
}
