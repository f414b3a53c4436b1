module example.com/poolleak

go 1.24
