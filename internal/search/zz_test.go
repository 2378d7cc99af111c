package search
import ("testing";"fmt";"os")
func TestZZ(t *testing.T){
 data, _ := os.ReadFile("/work/shared/corpus/lathe-tutorial/T2AXIS-TUTORIAL.SRC")
 d := Build(Input{SHA256:"x", Filename:"T.SRC", Data:data})
 q := EmbedQuery([]string{"chuck","open"})
 type r struct{n string; c float64}
 var rs []r
 for _, s := range d.Sections { rs = append(rs, r{s.Name, Cosine(q, s.Vector)}) }
 for _, x := range rs { if x.c > 0.1 { fmt.Printf("%s %.3f\n", x.n, x.c) } }
}
