// Command vcsim serves govmomi's vCenter simulator on one address for churnplan's collector tests.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"net/url"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "host:port to serve on")
	user := flag.String("user", "collector", "the only user name accepted")
	password := flag.String("password", "", "the only password accepted")
	maxMetrics := flag.String("max-query-metrics", "", "set config.vpxd.stats.maxQueryMetrics")
	histLevel := flag.Int("historical-level", 0, "publish a 300 s historical interval at this statistics level")
	flag.Parse()

	model := simulator.VPX()
	if err := model.Create(); err != nil {
		panic(err)
	}
	model.Service.Listen = &url.URL{Host: *listen, User: url.UserPassword(*user, *password)}
	model.Service.TLS = new(tls.Config)
	if *maxMetrics != "" {
		om := simulator.Map.OptionManager()
		om.Setting = append(om.Setting, &types.OptionValue{Key: "config.vpxd.stats.maxQueryMetrics", Value: *maxMetrics})
	}
	if *histLevel > 0 {
		pm := simulator.Map.Get(types.ManagedObjectReference{Type: "PerformanceManager", Value: "PerfMgr"}).(*simulator.PerformanceManager)
		pm.HistoricalInterval = []types.PerfInterval{{Key: 1, SamplingPeriod: 300, Name: "Past day", Length: 86400, Level: int32(*histLevel), Enabled: true}}
	}
	server := model.Service.NewServer()
	fmt.Printf("%s %d\n", server.URL.Host, model.Count().Machine)
	select {}
}
