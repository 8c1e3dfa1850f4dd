from modeltests.cli import main

raise SystemExit(main())
