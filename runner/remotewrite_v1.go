package runner

import (
	"math"
	"strconv"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/protowire"
)

// writeRequestV1 is an encoded prometheus.WriteRequest (Remote-Write 1.0). The
// module has no generated v1 types (they live in prometheus/prometheus, far too
// big a dependency for four small messages), so the runner encodes the few fields
// it sends with protowire and hands the bytes to exp/api/remote, whose Write takes
// any message with vtprotobuf's sizing and marshalling methods:
//
//	message WriteRequest { repeated TimeSeries timeseries = 1; }
//	message TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
//	message Label        { string name = 1; string value = 2; }
//	message Sample       { double value = 1; int64 timestamp = 2; }
type writeRequestV1 []byte

// SizeVT is the encoded size.
func (w writeRequestV1) SizeVT() int { return len(w) }

// MarshalToSizedBufferVT copies the encoding into buf, which has SizeVT bytes.
func (w writeRequestV1) MarshalToSizedBufferVT(buf []byte) (int, error) {
	return copy(buf, w), nil
}

// buildWriteRequestV1 encodes the gathered families as Remote-Write 1.0 samples:
// counters and gauges as they are, histograms as classic _bucket, _sum and _count
// series, which every receiver accepts.
func buildWriteRequestV1(families []*dto.MetricFamily, extra []string, ts int64) writeRequestV1 {
	var out []byte
	series := func(name string, labels []*dto.LabelPair, more []string, value float64) {
		pairs := []string{"__name__", name}
		pairs = append(pairs, extra...)
		for _, l := range labels {
			pairs = append(pairs, l.GetName(), l.GetValue())
		}
		pairs = append(pairs, more...)
		sortLabelPairs(pairs)
		var ts1 []byte
		for i := 0; i+1 < len(pairs); i += 2 {
			var label []byte
			label = protowire.AppendTag(label, 1, protowire.BytesType)
			label = protowire.AppendString(label, pairs[i])
			label = protowire.AppendTag(label, 2, protowire.BytesType)
			label = protowire.AppendString(label, pairs[i+1])
			ts1 = protowire.AppendTag(ts1, 1, protowire.BytesType)
			ts1 = protowire.AppendBytes(ts1, label)
		}
		var sample []byte
		sample = protowire.AppendTag(sample, 1, protowire.Fixed64Type)
		sample = protowire.AppendFixed64(sample, math.Float64bits(value))
		sample = protowire.AppendTag(sample, 2, protowire.VarintType)
		sample = protowire.AppendVarint(sample, uint64(ts))
		ts1 = protowire.AppendTag(ts1, 2, protowire.BytesType)
		ts1 = protowire.AppendBytes(ts1, sample)
		out = protowire.AppendTag(out, 1, protowire.BytesType)
		out = protowire.AppendBytes(out, ts1)
	}
	for _, f := range families {
		name := f.GetName()
		for _, m := range f.GetMetric() {
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				series(name, m.GetLabel(), nil, m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				series(name, m.GetLabel(), nil, m.GetGauge().GetValue())
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				for _, b := range h.GetBucket() {
					series(name+"_bucket", m.GetLabel(), []string{"le", strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64)}, float64(b.GetCumulativeCount()))
				}
				series(name+"_bucket", m.GetLabel(), []string{"le", "+Inf"}, float64(h.GetSampleCount()))
				series(name+"_sum", m.GetLabel(), nil, h.GetSampleSum())
				series(name+"_count", m.GetLabel(), nil, float64(h.GetSampleCount()))
			}
		}
	}
	return out
}
