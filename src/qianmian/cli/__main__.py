from qianmian.cli import main

main()
