from chatvault.cli.app import main

main()
