from orchestration.cli import main

main()
