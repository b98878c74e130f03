from yjvoice.cli import main

main()
