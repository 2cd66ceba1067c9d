from studymate.cli.main import main

raise SystemExit(main())
