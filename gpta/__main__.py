from gpta.cli import main

raise SystemExit(main())
