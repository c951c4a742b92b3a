// Runs an Argo CD resource health check (Lua) the way Argo CD does: gopher-lua, the object as
// the global `obj`, the script's returned table read as {status, message}. Used by
// test/chart/gitops.test.ts on the snippet of docs/gitops.md.
//
//	go run . SCRIPT.lua < object.json   →   {"status":"Healthy","message":"..."}
package main

import (
	"encoding/json"
	"fmt"
	"os"

	lua "github.com/yuin/gopher-lua"
)

// toLua converts decoded JSON the way Argo CD hands objects to Lua: objects and arrays as
// tables (arrays 1-indexed), numbers, strings, booleans; null as nil.
func toLua(L *lua.LState, value any) lua.LValue {
	switch v := value.(type) {
	case map[string]any:
		table := L.NewTable()
		for key, item := range v {
			table.RawSetString(key, toLua(L, item))
		}
		return table
	case []any:
		table := L.NewTable()
		for _, item := range v {
			table.Append(toLua(L, item))
		}
		return table
	case float64:
		return lua.LNumber(v)
	case string:
		return lua.LString(v)
	case bool:
		return lua.LBool(v)
	default:
		return lua.LNil
	}
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run . SCRIPT.lua < object.json")
		os.Exit(2)
	}
	var object any
	if err := json.NewDecoder(os.Stdin).Decode(&object); err != nil {
		fmt.Fprintln(os.Stderr, "object:", err)
		os.Exit(2)
	}
	L := lua.NewState()
	defer L.Close()
	L.SetGlobal("obj", toLua(L, object))
	if err := L.DoFile(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "script:", err)
		os.Exit(1)
	}
	result, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		fmt.Fprintln(os.Stderr, "script: did not return a table")
		os.Exit(1)
	}
	out, _ := json.Marshal(map[string]string{
		"status":  result.RawGetString("status").String(),
		"message": result.RawGetString("message").String(),
	})
	fmt.Println(string(out))
}
