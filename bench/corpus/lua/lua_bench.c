/* Runs bench.lua (embedded by build.sh as bench_lua.h) in a Lua state with
 * the base, table, string, math and utf8 libraries; coroutine (see
 * nothrow.h), io, os and package are left out so the program needs nothing from the host but
 * stdout. The first argument is passed to the script as arg[1]. */
#include <stdio.h>
#include <stdlib.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

#include "bench_lua.h" /* static const char bench_lua[] */

static const luaL_Reg libs[] = {
    {LUA_GNAME, luaopen_base},       {LUA_TABLIBNAME, luaopen_table},
    {LUA_STRLIBNAME, luaopen_string}, {LUA_MATHLIBNAME, luaopen_math},
    {LUA_UTF8LIBNAME, luaopen_utf8},
    {NULL, NULL},
};

int main(int argc, char **argv) {
    lua_State *L = luaL_newstate();
    for (const luaL_Reg *lib = libs; lib->func; lib++) {
        luaL_requiref(L, lib->name, lib->func, 1);
        lua_pop(L, 1);
    }
    lua_createtable(L, 1, 0);
    if (argc > 1) {
        lua_pushstring(L, argv[1]);
        lua_rawseti(L, -2, 1);
    }
    lua_setglobal(L, "arg");
    if (luaL_loadbuffer(L, bench_lua, sizeof bench_lua - 1, "=bench.lua") != LUA_OK ||
        lua_pcall(L, 0, 0, 0) != LUA_OK) {
        fprintf(stderr, "lua: %s\n", lua_tostring(L, -1));
        return 1;
    }
    lua_close(L);
    return 0;
}
