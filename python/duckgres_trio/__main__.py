from duckgres_trio.cli import main

main()
