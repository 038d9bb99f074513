from lab.entry import main

main()
