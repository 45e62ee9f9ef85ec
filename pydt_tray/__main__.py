from pydt_tray.cli import main

raise SystemExit(main())
