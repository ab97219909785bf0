"""`python -m pipeline.simulator` serves the simulator."""

from pipeline.simulator.cli import main

raise SystemExit(main())
