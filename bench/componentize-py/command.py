import sys, os
from wit_world import exports

class Run(exports.Run):
    def run(self) -> None:
        print("hello from componentize-py", sys.argv[1:], os.environ.get("GREETING"))
        print(sorted(os.listdir("/d")) if os.path.isdir("/d") else "no /d")
