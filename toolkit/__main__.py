"""``python -m toolkit`` runs the jcfix CLI."""

from toolkit.cli.app import main

if __name__ == "__main__":
    main()
