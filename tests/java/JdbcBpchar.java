import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;

/**
 * pgjdbc on char(n) semantics (tests/test_bpchar.py): setString parameters (sent as
 * varchar, which PostgreSQL compares with a char(n) column as bpchar) in comparisons
 * and inserts, and getString / the column type of char(n) columns and casts. The
 * inserts are rolled back. Usage: java -cp postgresql.jar:. JdbcBpchar JDBC_URL
 */
public class JdbcBpchar {
    public static void main(String[] args) throws Exception {
        try (Connection conn = DriverManager.getConnection(args[0])) {
            conn.setAutoCommit(false);
            for (String value : new String[] {"ab", "ab ", "ab    ", "q", "zz"}) {
                try (PreparedStatement ps = conn.prepareStatement(
                        "select id, c, c || '|' from tc where c = ? order by id")) {
                    ps.setString(1, value);
                    print("where [" + value + "]", ps.executeQuery());
                }
            }
            try (PreparedStatement ps = conn.prepareStatement(
                    "insert into tc (id, c) values (?, ?)")) {
                ps.setInt(1, 97);
                ps.setString(2, "ab  ");
                ps.executeUpdate();
            }
            try (PreparedStatement ps = conn.prepareStatement(
                    "select id, c, length(c), c = 'ab' from tc where id = 97")) {
                print("inserted", ps.executeQuery());
            }
            try (PreparedStatement ps = conn.prepareStatement(
                    "select 'ab'::char(4) as x, cast(? as char(3)) as y")) {
                ps.setString(1, "z ");
                print("casts", ps.executeQuery());
            }
            conn.rollback();
        }
    }

    static void print(String label, ResultSet rs) throws Exception {
        ResultSetMetaData md = rs.getMetaData();
        StringBuilder types = new StringBuilder(label + " | types");
        for (int i = 1; i <= md.getColumnCount(); i++) {
            types.append(" | ").append(md.getColumnTypeName(i));
        }
        System.out.println(types);
        while (rs.next()) {
            StringBuilder row = new StringBuilder(label + " | row");
            for (int i = 1; i <= md.getColumnCount(); i++) {
                row.append(" | [").append(rs.getString(i)).append("]");
            }
            System.out.println(row);
        }
    }
}
