"""``python -m tco``: the same as the ``tco`` command."""

from tco.cli import main

if __name__ == "__main__":
    main()
